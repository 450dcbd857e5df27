// Credentials first, then `*`: just as impossible.
use cors::CorsBuilder;

fn main() {
    let _policy = CorsBuilder::new().allow_credentials().allow_any_origin().build();
}
