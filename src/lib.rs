#![recursion_limit = "256"]
//! dpatterns renders the patterns of Brendan Burns' *Designing Distributed Systems* into
//! Kubernetes manifests, Rust services, Dockerfiles, docs and CI, from one YAML spec.
//!
//! The library is the whole tool; the binary only parses arguments. The pipeline
//! (`docs/architecture.md` §3) runs `source`/`spec` → `resolve` (into `model`) →
//! `templating` → `manifest` → `policy` → `verify` → `output`, and [`pipeline::run`] is
//! its pure core, from the decoded spec to every file in memory.

pub mod catalog;
pub mod commands;
pub mod config_rollout;
pub mod error;
pub mod files;
pub mod input;
pub mod json_schema;
pub mod kinds;
pub mod lint;
pub mod lockfile;
pub mod manifest;
pub mod model;
pub mod names;
pub mod network;
pub mod output;
pub mod overlay;
pub mod par;
pub mod params;
pub mod patch_checks;
pub mod pipeline;
pub mod policy;
pub mod prompt;
pub mod quantity;
pub mod reference;
pub mod resolve;
pub mod source;
pub mod spec;
pub mod spec_network;
pub mod spec_scalars;
pub mod spec_text;
pub mod templating;
pub mod verify;
pub mod yaml_out;

pub use catalog::Catalog;
pub use error::{Error, Result};

/// The tool's name and version, as written into the lock, the managed files' header and the
/// templates' `tool` context.
pub const TOOL_NAME: &str = "dpatterns";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
