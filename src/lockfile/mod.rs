//! The rendered `services/Cargo.lock` (architecture §3, after templating). A generated
//! workspace builds with `--locked` from its first commit only if its lock comes with it,
//! and the same versions that dpatterns was tested with: so the catalog keeps one lock
//! pinned for the union of every crate its generated workspaces use
//! (`_common/Cargo.lock.pinned`, written by `scripts/pin-generated-lock.sh`), and each
//! render keeps from it exactly what Cargo would keep for this workspace: the packages its
//! members reach, plus the members themselves.
//!
//! The lock is scaffolded: once written it is Cargo's and the user's (`cargo add` changes
//! it), and a later render that changes the workspace is merged into it three ways like
//! any scaffolded file. A member that needs a package the pinned lock does not hold (a user
//! catalog's crate) gets no lock at all, with a warning, rather than one `--locked` refuses.

mod format;

use std::collections::{BTreeMap, BTreeSet};

use semver::VersionReq;
use toml_edit::{DocumentMut, Item};

pub use format::{Lock, Package};

/// Where the catalog keeps the pinned lock (not under `project/`, which is copied as is).
pub const PINNED: &str = "_common/Cargo.lock.pinned";
/// The workspace manifest and the lock beside it, in the output folder.
pub const WORKSPACE: &str = "services/Cargo.toml";
pub const LOCK: &str = "services/Cargo.lock";

/// What the render does about `services/Cargo.lock`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The project has no Cargo workspace (no generated service).
    NoWorkspace,
    /// The lock to write.
    Lock(String),
    /// No lock: these dependencies of these members are not in the pinned lock.
    Unpinned(Vec<Unpinned>),
}

/// A dependency of a member the pinned lock cannot satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpinned {
    /// The package name of the member (its crate).
    pub member: String,
    /// The dependency and what it asks for (`rand ^0.9`, or why it cannot be pinned).
    pub dependency: String,
}

/// A member of the rendered workspace.
struct Member {
    name: String,
    version: semver::Version,
    dir: String,
    deps: Vec<Dependency>,
}

/// One dependency entry of a member, with `workspace = true` filled in.
struct Dependency {
    package: String,
    /// A path dependency's folder, relative to `services/`.
    path: Option<String>,
    requirement: Option<String>,
    /// Set when the entry names a source dpatterns cannot pin (git, another registry).
    unpinnable: Option<&'static str>,
}

/// Computes the lock of the rendered workspace from the rendered files and the pinned lock.
/// An `Err` is a catalog defect (a manifest or the pinned lock that does not parse).
pub fn render(files: &BTreeMap<&str, &str>, pinned: &str) -> Result<Outcome, String> {
    let Some(root) = files.get(WORKSPACE) else {
        return Ok(Outcome::NoWorkspace);
    };
    let root: DocumentMut = root
        .parse()
        .map_err(|e| format!("{WORKSPACE} is not TOML: {e}"))?;
    let workspace = root
        .get("workspace")
        .ok_or(format!("{WORKSPACE} has no [workspace]"))?;
    let shared_version = workspace
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(Item::as_str)
        .map(String::from);
    let shared_deps = workspace.get("dependencies");
    let dirs: Vec<String> = workspace
        .get("members")
        .and_then(Item::as_array)
        .ok_or(format!("{WORKSPACE} lists no members"))?
        .iter()
        .map(|m| m.as_str().map(|s| s.trim_end_matches('/').to_string()))
        .collect::<Option<_>>()
        .ok_or(format!("a member of {WORKSPACE} is not a string"))?;
    let mut members = Vec::new();
    for dir in dirs {
        let path = format!("services/{dir}/Cargo.toml");
        let text = files
            .get(path.as_str())
            .ok_or(format!("{path} is not rendered"))?;
        members.push(member(
            &path,
            &dir,
            text,
            shared_version.as_deref(),
            shared_deps,
        )?);
    }
    let pinned = Lock::parse(pinned).map_err(|e| format!("{PINNED}: {e}"))?;
    Ok(keep(&members, &pinned))
}

/// The packages of `pinned` the members reach, with the members, as one lock.
fn keep(members: &[Member], pinned: &Lock) -> Outcome {
    let mut lock = Lock::default();
    // Pinned index -> index in the new lock, filled in breadth first.
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue: Vec<(usize, usize)> = Vec::new();
    let mut unpinned = Vec::new();
    let mut member_deps: Vec<Vec<Reach>> = Vec::new();
    for m in members {
        let mut reach = Vec::new();
        for d in &m.deps {
            match locate(d, members, pinned) {
                Ok(r) => reach.push(r),
                Err(why) => unpinned.push(Unpinned {
                    member: m.name.clone(),
                    dependency: why,
                }),
            }
        }
        member_deps.push(reach);
    }
    if !unpinned.is_empty() {
        return Outcome::Unpinned(unpinned);
    }
    for m in members {
        lock.packages.push(Package {
            name: m.name.clone(),
            version: m.version.clone(),
            source: None,
            checksum: None,
            dependencies: Vec::new(),
        });
    }
    let mut take = |p: usize, lock: &mut Lock, queue: &mut Vec<(usize, usize)>| -> usize {
        *taken.entry(p).or_insert_with(|| {
            let mut package = pinned.packages[p].clone();
            package.dependencies.clear();
            lock.packages.push(package);
            queue.push((p, lock.packages.len() - 1));
            lock.packages.len() - 1
        })
    };
    for (i, reach) in member_deps.iter().enumerate() {
        let deps: BTreeSet<usize> = reach
            .iter()
            .map(|r| match *r {
                Reach::Member(m) => m,
                Reach::Pinned(p) => take(p, &mut lock, &mut queue),
            })
            .collect();
        lock.packages[i].dependencies = deps.into_iter().collect();
    }
    while let Some((p, at)) = queue.pop() {
        let deps: Vec<usize> = pinned.packages[p]
            .dependencies
            .iter()
            .map(|&d| take(d, &mut lock, &mut queue))
            .collect();
        lock.packages[at].dependencies = deps;
    }
    Outcome::Lock(lock.write())
}

/// What a member's dependency resolves to.
enum Reach {
    Member(usize),
    Pinned(usize),
}

/// Finds the package a dependency means: a member by path, or the newest pinned registry
/// package of that name its requirement accepts.
fn locate(d: &Dependency, members: &[Member], pinned: &Lock) -> Result<Reach, String> {
    if let Some(why) = d.unpinnable {
        return Err(format!("`{}` ({why})", d.package));
    }
    if let Some(path) = &d.path {
        return members
            .iter()
            .position(|o| normalize(&o.dir) == *path && o.name == d.package)
            .map(Reach::Member)
            .ok_or(format!(
                "`{}` (path `{path}` is not a member of the workspace)",
                d.package
            ));
    }
    let text = d.requirement.as_deref().unwrap_or("*");
    let req = VersionReq::parse(text)
        .map_err(|e| format!("`{} {text}` (not a version requirement: {e})", d.package))?;
    pinned
        .packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.name == d.package && p.source.is_some() && req.matches(&p.version))
        .max_by(|a, b| a.1.version.cmp(&b.1.version))
        .map(|(i, _)| Reach::Pinned(i))
        .ok_or(format!("`{} {req}`", d.package))
}

/// `a/./b/../c` -> `a/c`, for comparing member folders with path dependencies.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Reads a member's manifest: its name, version and every dependency Cargo would lock
/// (normal, dev and build, of every target platform, optional ones too: Cargo locks a
/// workspace with all its features).
fn member(
    path: &str,
    dir: &str,
    text: &str,
    shared_version: Option<&str>,
    shared_deps: Option<&Item>,
) -> Result<Member, String> {
    let doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("{path} is not TOML: {e}"))?;
    let package = doc
        .get("package")
        .ok_or(format!("{path} has no [package]"))?;
    let name = package
        .get("name")
        .and_then(Item::as_str)
        .ok_or(format!("{path} has no package name"))?
        .to_string();
    let version = match package.get("version") {
        None => "0.0.0",
        Some(v) if v.as_str().is_some() => v.as_str().unwrap_or_default(),
        Some(v) if inherits(v) => {
            shared_version.ok_or(format!("{path} inherits a version the workspace lacks"))?
        }
        Some(_) => {
            return Err(format!(
                "{path}: package.version is neither text nor inherited"
            ));
        }
    };
    let version =
        semver::Version::parse(version).map_err(|e| format!("{path}: version `{version}`: {e}"))?;
    let mut tables: Vec<&Item> = Vec::new();
    let kinds = ["dependencies", "dev-dependencies", "build-dependencies"];
    tables.extend(kinds.iter().filter_map(|k| doc.get(k)));
    if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
        for (_, target) in targets.iter() {
            tables.extend(kinds.iter().filter_map(|k| target.get(k)));
        }
    }
    let mut deps = Vec::new();
    for table in tables {
        let table = table
            .as_table_like()
            .ok_or(format!("{path}: a dependency table is not a table"))?;
        for (key, spec) in table.iter() {
            // A path is relative to the manifest that writes it: the workspace's for an
            // inherited dependency, the member's otherwise.
            let (spec, base) = if inherits(spec) {
                let shared = shared_deps.and_then(|s| s.get(key)).ok_or(format!(
                    "{path}: `{key}` is not in [workspace.dependencies]"
                ))?;
                (shared, "")
            } else {
                (spec, dir)
            };
            deps.push(dependency(key, spec, base));
        }
    }
    Ok(Member {
        name,
        version,
        dir: dir.to_string(),
        deps,
    })
}

/// `x.workspace = true` or `x = { workspace = true, … }`.
fn inherits(item: &Item) -> bool {
    item.get("workspace").and_then(Item::as_bool) == Some(true)
}

fn dependency(key: &str, spec: &Item, base: &str) -> Dependency {
    if let Some(req) = spec.as_str() {
        return Dependency {
            package: key.to_string(),
            path: None,
            requirement: Some(req.to_string()),
            unpinnable: None,
        };
    }
    let text = |k: &str| spec.get(k).and_then(Item::as_str).map(String::from);
    let unpinnable = if spec.get("git").is_some() {
        Some("a git source")
    } else if spec.get("registry").is_some() || spec.get("registry-index").is_some() {
        Some("another registry")
    } else {
        None
    };
    Dependency {
        package: text("package").unwrap_or_else(|| key.to_string()),
        path: text("path").map(|p| normalize(&format!("{base}/{p}"))),
        requirement: text("version"),
        unpinnable,
    }
}

#[cfg(test)]
mod tests;
