// A policy must say which origins it allows before it can be built.
use cors::CorsBuilder;

fn main() {
    let _policy = CorsBuilder::new().allow_credentials().build();
}
