//! From files in memory to files on disk. A render hands the writer its [`OutputFile`]s;
//! [`Plan::compute`] compares them with the folder and its lock file and decides what
//! happens to each path, and [`Plan::apply`] carries that out as one transaction that either
//! lands every file or leaves the folder as it was.
//!
//! - [`plan`]: what a render would create, update, keep or delete, and why.
//! - [`lock`]: the lock file, which tells a user's edit from our own output.
//! - [`merge`]: the three-way merge of an edited scaffolded file with its new render.
//! - [`transaction`]: the all-or-nothing write, safe against a kill at any moment.
//! - [`journal`]: what a transaction records before it starts, and the recovery from it.
//! - [`paths`]: which paths may be written or read at all (inside the folder, no symbolic
//!   links, only regular files, bounded sizes).
//!
//! [`OutputFile`]: crate::files::OutputFile

pub mod journal;
pub mod lock;
pub mod merge;
pub mod paths;
pub mod plan;
pub mod transaction;

pub use lock::{LOCK_FILE, Lock, LockEntry, sha256_hex};
pub use plan::{Action, Plan, PlanEntry, SpecFile};
