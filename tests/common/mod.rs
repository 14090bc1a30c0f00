//! What the end-to-end tests of the writer share: the small spec they render, and the same
//! spec grown by a second component. Each test binary includes this module and uses what it
//! needs of it.
#![allow(dead_code)]

/// One replicated service with two replicas.
pub const SPEC: &str = "apiVersion: dpatterns/v1alpha1
kind: System
metadata:
  name: shop
spec:
  registry: ghcr.io/acme
  components:
    - name: api
      pattern: replicated-service
      params: {replicas: 2}
";

/// The spec with a second component, `web`, listed first: new files, and shared files
/// (the workspace's members, the README, the workflow) that change.
pub fn spec_with_web() -> String {
    SPEC.replace(
        "components:",
        "components:\n    - name: web\n      pattern: replicated-service",
    )
}
