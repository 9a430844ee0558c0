//! Which package provides a command, and which interpreter a language
//! ecosystem needs, from `grammar/packages/commands.toml`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::ir::{Ecosystem, Family};

const COMMANDS_TOML: &str = include_str!("../../grammar/packages/commands.toml");

#[derive(Debug, Deserialize)]
struct CommandsFile {
    #[serde(default)]
    debian: BTreeMap<String, String>,
    #[serde(default)]
    ubuntu: BTreeMap<String, String>,
    #[serde(default)]
    alpine: BTreeMap<String, String>,
    #[serde(default)]
    implies: BTreeMap<String, BTreeMap<String, String>>,
}

fn data() -> &'static CommandsFile {
    static DATA: OnceLock<CommandsFile> = OnceLock::new();
    // Compiled-in data covered by tests: a failure is a shipped bug.
    DATA.get_or_init(|| {
        toml::from_str(COMMANDS_TOML).expect("grammar/packages/commands.toml is valid")
    })
}

/// The package of `family` that provides the command `name` (a basename or
/// a path; only the basename counts).
pub fn package_for_command(family: Family, name: &str) -> Option<&'static str> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let table = match family {
        Family::Debian => &data().debian,
        Family::Ubuntu => &data().ubuntu,
        Family::Alpine => &data().alpine,
        Family::Nix | Family::None => return None,
    };
    table.get(base).map(String::as_str)
}

/// The interpreter package packages of `eco` need on `family`.
pub fn implied_runtime(eco: Ecosystem, family: Family) -> Option<&'static str> {
    data()
        .implies
        .get(eco.as_str())?
        .get(family.as_str())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_map_to_packages() {
        assert_eq!(
            package_for_command(Family::Debian, "/usr/bin/python3"),
            Some("python3")
        );
        assert_eq!(
            package_for_command(Family::Alpine, "redis-server"),
            Some("redis")
        );
        assert_eq!(package_for_command(Family::Debian, "myapp"), None);
        assert_eq!(
            implied_runtime(Ecosystem::Pypi, Family::Alpine),
            Some("python3")
        );
        assert_eq!(implied_runtime(Ecosystem::Debian, Family::Alpine), None);
    }
}
