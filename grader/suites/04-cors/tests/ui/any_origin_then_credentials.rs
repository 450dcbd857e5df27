// `*` first, then credentials: the second call must not exist.
use cors::CorsBuilder;

fn main() {
    let _policy = CorsBuilder::new().allow_any_origin().allow_credentials().build();
}
