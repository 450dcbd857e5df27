// What the kit's API does: a list of origins, with credentials, in either order.
use cors::CorsBuilder;

fn main() {
    let _a = CorsBuilder::new().allow_origins(["http://localhost:3000"]).allow_credentials().build();
    let _b = CorsBuilder::new().allow_credentials().allow_origins(vec![String::from("https://app.example")]).build();
    let _c = CorsBuilder::new().allow_any_origin().build();
}
