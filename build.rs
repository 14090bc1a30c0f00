//! `include_dir!` does not notice files added to `templates/`; this makes Cargo rebuild when
//! anything under it changes.
fn main() {
    println!("cargo:rerun-if-changed=templates");
}
