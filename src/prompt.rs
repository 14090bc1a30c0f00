//! Questions for `dpatterns new`, behind a trait so the command's logic runs the same with a
//! real terminal (dialoguer), scripted answers (tests) or no questions at all (`--yes`, CI).

use dialoguer::theme::ColorfulTheme;

use crate::error::{Error, Result};

/// A prompter as commands take it: optional (no questions when `None`).
pub type Ask<'a> = Option<&'a mut (dyn Prompter + 'static)>;

pub trait Prompter {
    /// Free text, checked by `validate` until it passes.
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String>;

    /// One of `items`; returns its index.
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
}

/// Asks on the terminal.
#[derive(Debug, Default)]
pub struct TerminalPrompter;

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::Prompt(format!("could not read the answer: {e}"))
}

impl Prompter for TerminalPrompter {
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        let theme = ColorfulTheme::default();
        let mut input = dialoguer::Input::<String>::with_theme(&theme).with_prompt(prompt);
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        // dialoguer re-asks on an empty line unless told otherwise; an optional answer
        // (one the validator accepts empty) may be left empty.
        input
            .allow_empty(validate("").is_ok())
            .validate_with(|text: &String| validate(text))
            .interact_text()
            .map_err(prompt_error)
    }

    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        dialoguer::Select::with_theme(&ColorfulTheme::default())
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()
            .map_err(prompt_error)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        // Waits for Enter like every other question: `y` then Enter would otherwise answer
        // this one and leave the next one (a host name, say) empty.
        dialoguer::Confirm::with_theme(&ColorfulTheme::default())
            .with_prompt(prompt)
            .default(default)
            .wait_for_newline(true)
            .interact()
            .map_err(prompt_error)
    }
}

/// Replays fixed answers, for tests of the `new` logic without a terminal. An empty
/// answer takes the default.
#[derive(Debug, Default)]
pub struct ScriptedPrompter {
    pub answers: std::collections::VecDeque<String>,
    pub asked: Vec<String>,
}

impl ScriptedPrompter {
    pub fn new(answers: &[&str]) -> Self {
        ScriptedPrompter {
            answers: answers.iter().map(|s| s.to_string()).collect(),
            asked: Vec::new(),
        }
    }

    fn next(&mut self, prompt: &str) -> Result<String> {
        self.asked.push(prompt.to_string());
        self.answers
            .pop_front()
            .ok_or_else(|| Error::Prompt(format!("no scripted answer for `{prompt}`")))
    }
}

impl Prompter for ScriptedPrompter {
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> std::result::Result<(), String>,
    ) -> Result<String> {
        let answer = self.next(prompt)?;
        let answer = if answer.is_empty() {
            default.unwrap_or_default().to_string()
        } else {
            answer
        };
        validate(&answer)
            .map_err(|why| Error::Prompt(format!("`{answer}` for `{prompt}`: {why}")))?;
        Ok(answer)
    }

    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        let answer = self.next(prompt)?;
        if answer.is_empty() {
            return Ok(default);
        }
        items
            .iter()
            .position(|i| i == &answer || i.starts_with(&format!("{answer} ")))
            .ok_or_else(|| Error::Prompt(format!("`{answer}` is not one of {items:?}")))
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        let answer = self.next(prompt)?;
        Ok(match answer.as_str() {
            "" => default,
            a => a.starts_with('y'),
        })
    }
}
