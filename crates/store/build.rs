// `sqlx::migrate!` embeds the top-level migrations/ at compile time: a changed migration alone must
// rebuild the crate too.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
