mod common;

/// Fails loudly when the reference data is not where the other tests look for it.
#[test]
fn reference_vectors_are_readable() {
    let keys = common::reference_json("vectors/keys.json");
    assert!(keys["keypairs"].as_array().is_some_and(|a| !a.is_empty()));
}
