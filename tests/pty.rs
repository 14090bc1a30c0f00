//! `dpatterns new` with a person at the keyboard: the binary runs in a real
//! pseudo-terminal, the test reads each question off the screen and types the answer.

use std::time::Duration;

use dpatterns::catalog::Catalog;
use rexpect::session::spawn_command;

/// Down-arrow presses that move the pattern menu from its first entry to
/// `replicated-service`, whatever other stand-alone patterns the catalog lists before it.
fn moves_to_replicated_service(catalog: &Catalog) -> String {
    let index = catalog
        .patterns()
        .filter(|p| !p.attachable)
        .position(|p| p.id == "replicated-service")
        .expect("the embedded catalog has replicated-service");
    "\x1b[B".repeat(index)
}

#[test]
fn interactive_new_asks_and_writes_the_answers_into_the_spec() {
    let catalog = Catalog::embedded().unwrap();
    // `new` offers attachable patterns after each component's parameters, only when the
    // catalog has some.
    let offers_attachments = catalog.patterns().any(|p| p.attachable);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("shop");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dpatterns"));
    cmd.arg("new")
        .arg(&dir)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let mut s = spawn_command(cmd, Some(Duration::from_secs(30).as_millis() as u64)).unwrap();

    s.exp_string("System name").unwrap();
    s.send_line("").unwrap(); // take the default, derived from the folder: shop
    s.exp_string("Pattern").unwrap();
    s.send(&moves_to_replicated_service(&catalog)).unwrap();
    s.send_line("").unwrap();
    s.exp_string("Name of the replicated-service component")
        .unwrap();
    s.send_line("web").unwrap();
    s.exp_string("replicas").unwrap();
    s.send_line("4").unwrap();
    s.exp_string("maxReplicas").unwrap();
    s.send_line("x").unwrap(); // not an integer: rejected on the spot, asked again
    s.exp_string("must be an integer").unwrap();
    s.send_line("8").unwrap();
    for param in ["cpuTarget", "port", "servicePort", "metricsPort"] {
        s.exp_string(param).unwrap();
        s.send_line("").unwrap();
    }
    s.exp_string("public").unwrap();
    s.send_line("y").unwrap();
    // Asked only because the component is public; an empty answer leaves it out.
    s.exp_string("? host").unwrap();
    s.send_line("shop.example.com").unwrap();
    s.exp_string("? tlsSecret").unwrap();
    s.send_line("").unwrap();
    // The rest take their defaults: spread, the settings of calls (`calls` itself is not
    // asked: no earlier component to call), the rate limit, and the book's caching and TLS
    // tiers (off).
    for param in [
        "spread",
        "callAttempts",
        "callAttemptTimeoutMs",
        "callDeadlineMs",
        "rateLimit",
        "rateLimitBurst",
        "rateLimitKey",
        "cache",
        "cacheReplicas",
        "cacheMemory",
        "tlsTierSecret",
        "tlsTierReplicas",
    ] {
        s.exp_string(&format!("? {param}")).unwrap();
        s.send_line("").unwrap();
    }
    if offers_attachments {
        s.exp_string("Attach a pattern to web?").unwrap();
        s.send_line("").unwrap(); // the first entry: none
    }
    s.exp_string("Add another component?").unwrap();
    s.send_line("n").unwrap();
    s.exp_string("create     k8s/base/web.yaml").unwrap();
    s.exp_eof().unwrap();

    let spec = std::fs::read_to_string(dir.join("dpatterns.yaml")).unwrap();
    assert!(spec.contains("name: shop"), "{spec}");
    assert!(spec.contains("name: web"), "{spec}");
    assert!(spec.contains("replicas: 4"), "{spec}");
    assert!(spec.contains("public: true"), "{spec}");
    assert!(spec.contains("host: shop.example.com"), "{spec}");
    assert!(!spec.contains("tlsSecret"), "{spec}");
    assert!(spec.contains("maxReplicas: 8"), "{spec}");
}
