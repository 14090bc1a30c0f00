//! Runs the real binary over every case in `tests/cmd/` and compares its exit code, stdout
//! and stderr with the files beside the case. `TRYCMD=overwrite cargo test --test
//! cli_cases` re-blesses them; review the diff before committing.

#[test]
fn cli_cases() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
