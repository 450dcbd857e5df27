// A `Cors` cannot be written by hand either: its fields are private, so the
// builder's rules cannot be skipped.
use cors::Cors;

fn main() {
    let _policy = Cors { credentials: true };
}
