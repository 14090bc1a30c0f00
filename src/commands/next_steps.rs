//! The commands `new` prints after it has written a project: from nothing to running pods
//! on a local cluster, each line runnable as printed (the generated README says the same
//! and more). They are worked out from the render itself, so they name the images, the
//! overlay and the workloads the project really has; `scripts/readme-commands.sh` runs
//! them as a new user would.

use std::path::Path;

use crate::pipeline::Rendered;

/// The lines to print, commands only (a `#` line says what a reader must choose).
pub fn next_steps(dir: &Path, rendered: &Rendered) -> Vec<String> {
    let system = &rendered.system;
    let mut lines = vec![format!("cd {}", shell_word(&dir.display().to_string()))];
    let services: Vec<_> = system.programs().collect();
    if !services.is_empty() {
        lines.push("cargo test --manifest-path services/Cargo.toml --locked".into());
        for p in &services {
            lines.push(format!(
                "docker build -f services/{}/Dockerfile -t {} services",
                p.crate_name, p.image
            ));
        }
    }
    let local = system
        .environments
        .iter()
        .find(|e| e.image_pull_policy(&system.defaults) == "IfNotPresent");
    let env = match local {
        Some(env) => {
            if !services.is_empty() {
                lines.push("# kind; with minikube: minikube image load IMAGE".into());
            }
            for p in &services {
                lines.push(format!("kind load docker-image {}", p.image));
            }
            env
        }
        None => {
            if !services.is_empty() {
                lines.push(
                    "# push the images and set them in the overlay first: README.md, \"From a registry\""
                        .into(),
                );
            }
            match system.environments.first() {
                Some(env) => env,
                None => return lines,
            }
        }
    };
    lines.push(format!("kubectl apply -k k8s/overlays/{}", env.name));
    for o in &rendered.objects {
        // The kinds `kubectl rollout status` follows.
        if matches!(o.kind(), "Deployment" | "StatefulSet" | "DaemonSet") {
            lines.push(format!(
                "kubectl -n {} rollout status {}/{} --timeout=180s",
                system.namespace,
                o.kind().to_ascii_lowercase(),
                o.name()
            ));
        }
    }
    // A Job has no rollout: its end is what a new user waits for (a batch's result).
    for o in rendered.objects.iter().filter(|o| o.kind() == "Job") {
        lines.push(format!(
            "kubectl -n {} wait --for=condition=complete job/{} --timeout=600s",
            system.namespace,
            o.name()
        ));
    }
    lines
}

/// A path as one shell word: as it is when that is safe, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_word;

    #[test]
    fn a_path_with_spaces_or_quotes_stays_one_shell_word() {
        assert_eq!(shell_word("demo"), "demo");
        assert_eq!(shell_word("my demo"), "'my demo'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
