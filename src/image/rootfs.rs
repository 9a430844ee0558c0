//! Files a scratch image needs that no package provides once maintainer
//! scripts are not run: accounts, `/tmp`, directories, `/etc/os-release`,
//! `/etc/nsswitch.conf`, the CA bundle. Each is recorded for the report.
//!
//! Choices:
//! - `root` (0:0, home `/root`) and `nobody`/`nogroup` (65534) are always
//!   present; their shell, and the default shell of given accounts, is
//!   `/sbin/nologin` — a scratch image has no shell to log in with.
//! - An account whose primary gid has no group gets a group of the same
//!   name (as `useradd` does by default).
//! - Re-declaring root/nobody with the same ids is accepted (a Dockerfile
//!   may `useradd` an existing user); a name or id clash otherwise is an
//!   error. Entries are written in uid (gid) order.
//! - `/root` is created `0700`; other home directories only when listed in
//!   [`RootfsSpec::dirs`] (the plan knows whether `useradd -m` ran).
//! - `/etc/os-release` is written where the caller's fields say; Debian keeps
//!   it at `/usr/lib/os-release` with a symlink, scanners read either.
//! - The CA bundle goes to `/etc/ssl/certs/ca-certificates.crt` (the path
//!   Debian, Alpine's compat link and Go/OpenSSL defaults agree on).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ImageError;
use crate::tree::{FileTree, ImagePath, TreeEntry};

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// `None`: `/sbin/nologin`.
    pub shell: Option<String>,
    pub gecos: Option<String>,
}

/// A group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A directory the plan creates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirSpec {
    pub path: ImagePath,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// What to synthesize.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootfsSpec {
    pub accounts: Vec<Account>,
    pub groups: Vec<Group>,
    pub dirs: Vec<DirSpec>,
    /// `/etc/os-release` fields in order (`ID`, `VERSION_ID`, ...), or none.
    pub os_release: Option<Vec<(String, String)>>,
    /// Write `/etc/nsswitch.conf` (when glibc is in the image).
    pub nsswitch: bool,
    /// A PEM CA bundle to install.
    pub ca_bundle: Option<Arc<[u8]>>,
}

/// One synthesized file or directory, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthesizedItem {
    pub path: ImagePath,
    /// What it is and why, e.g. "passwd: root, nobody, app (1000:1000)".
    pub description: String,
}

/// The synthesized files as a tree (one layer), with their records and the
/// account tables for resolving `USER`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynthesizedRootfs {
    pub tree: FileTree,
    pub items: Vec<SynthesizedItem>,
    pub accounts: Vec<Account>,
    pub groups: Vec<Group>,
}

const NSSWITCH: &str = "\
passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
protocols:      files
services:       files
ethers:         files
rpc:            files
";

fn err(msg: impl Into<String>) -> ImageError {
    ImageError::Rootfs(msg.into())
}

fn check_field(what: &str, v: &str) -> Result<(), ImageError> {
    if v.contains([':', '\n', '\0']) {
        return Err(err(format!(
            "{what} {v:?} contains ':' or a newline, which passwd/group cannot hold"
        )));
    }
    Ok(())
}

fn path(p: &str) -> Result<ImagePath, ImageError> {
    ImagePath::new(p).map_err(|e| err(e.to_string()))
}

/// Build the synthesized files.
pub fn synthesize_rootfs(spec: &RootfsSpec) -> Result<SynthesizedRootfs, ImageError> {
    let mut tree = FileTree::new();
    let mut items = Vec::new();

    // Accounts, with root and nobody first.
    let mut accounts: BTreeMap<u32, Account> = BTreeMap::new();
    let builtin = [
        Account {
            name: "root".into(),
            uid: 0,
            gid: 0,
            home: "/root".into(),
            shell: None,
            gecos: Some("root".into()),
        },
        Account {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
            home: "/nonexistent".into(),
            shell: None,
            gecos: Some("nobody".into()),
        },
    ];
    for a in builtin.iter().chain(&spec.accounts) {
        for (what, v) in [
            ("account name", a.name.as_str()),
            ("home", a.home.as_str()),
            ("shell", a.shell.as_deref().unwrap_or("")),
            ("gecos", a.gecos.as_deref().unwrap_or("")),
        ] {
            check_field(what, v)?;
        }
        if a.name.is_empty() {
            return Err(err("an account has an empty name"));
        }
        if let Some(prev) = accounts.values().find(|p| p.name == a.name) {
            if prev.uid == a.uid && prev.gid == a.gid {
                continue;
            }
            return Err(err(format!(
                "account {} declared as {}:{} and {}:{}",
                a.name, prev.uid, prev.gid, a.uid, a.gid
            )));
        }
        if let Some(prev) = accounts.get(&a.uid) {
            return Err(err(format!(
                "uid {} is used by both {} and {}",
                a.uid, prev.name, a.name
            )));
        }
        accounts.insert(a.uid, a.clone());
    }

    let mut groups: BTreeMap<u32, Group> = BTreeMap::new();
    let builtin_groups = [
        Group {
            name: "root".into(),
            gid: 0,
            members: vec![],
        },
        Group {
            name: "nogroup".into(),
            gid: 65534,
            members: vec![],
        },
    ];
    for g in builtin_groups.iter().chain(&spec.groups) {
        check_field("group name", &g.name)?;
        for m in &g.members {
            check_field("group member", m)?;
            if m.contains(',') {
                return Err(err(format!("group member {m:?} contains ','")));
            }
        }
        if g.name.is_empty() {
            return Err(err("a group has an empty name"));
        }
        if let Some(prev) = groups.values_mut().find(|p| p.name == g.name) {
            if prev.gid == g.gid {
                for m in &g.members {
                    if !prev.members.contains(m) {
                        prev.members.push(m.clone());
                    }
                }
                continue;
            }
            return Err(err(format!(
                "group {} declared with gid {} and {}",
                g.name, prev.gid, g.gid
            )));
        }
        if let Some(prev) = groups.get(&g.gid) {
            return Err(err(format!(
                "gid {} is used by both {} and {}",
                g.gid, prev.name, g.name
            )));
        }
        groups.insert(g.gid, g.clone());
    }
    let mut implied = Vec::new();
    for a in accounts.values() {
        if !groups.contains_key(&a.gid) {
            if groups.values().any(|g| g.name == a.name) {
                return Err(err(format!(
                    "account {}'s gid {} has no group, and a group named {} has another gid",
                    a.name, a.gid, a.name
                )));
            }
            groups.insert(
                a.gid,
                Group {
                    name: a.name.clone(),
                    gid: a.gid,
                    members: vec![],
                },
            );
            implied.push(a.name.clone());
        }
    }

    let passwd: String = accounts
        .values()
        .map(|a| {
            format!(
                "{}:x:{}:{}:{}:{}:{}\n",
                a.name,
                a.uid,
                a.gid,
                a.gecos.as_deref().unwrap_or(""),
                a.home,
                a.shell.as_deref().unwrap_or("/sbin/nologin")
            )
        })
        .collect();
    let group: String = groups
        .values()
        .map(|g| format!("{}:x:{}:{}\n", g.name, g.gid, g.members.join(",")))
        .collect();
    let describe_accounts = accounts
        .values()
        .map(|a| format!("{} ({}:{})", a.name, a.uid, a.gid))
        .collect::<Vec<_>>()
        .join(", ");
    let describe_groups = groups
        .values()
        .map(|g| format!("{} ({})", g.name, g.gid))
        .collect::<Vec<_>>()
        .join(", ");

    let mut dirs_written = BTreeSet::new();
    let mut add_dir = |tree: &mut FileTree, p: ImagePath, e: TreeEntry| {
        dirs_written.insert(p.clone());
        tree.insert(p, e);
    };
    add_dir(&mut tree, path("etc")?, TreeEntry::dir(0o755));
    tree.insert(
        path("etc/passwd")?,
        TreeEntry::bytes(passwd.into_bytes(), 0o644),
    );
    items.push(SynthesizedItem {
        path: path("etc/passwd")?,
        description: format!("passwd: {describe_accounts}"),
    });
    tree.insert(
        path("etc/group")?,
        TreeEntry::bytes(group.into_bytes(), 0o644),
    );
    items.push(SynthesizedItem {
        path: path("etc/group")?,
        description: if implied.is_empty() {
            format!("group: {describe_groups}")
        } else {
            format!(
                "group: {describe_groups} (primary groups added for {})",
                implied.join(", ")
            )
        },
    });
    add_dir(&mut tree, path("root")?, TreeEntry::dir(0o700));
    items.push(SynthesizedItem {
        path: path("root")?,
        description: "root's home directory, mode 0700".into(),
    });
    add_dir(&mut tree, path("tmp")?, TreeEntry::dir(0o1777));
    items.push(SynthesizedItem {
        path: path("tmp")?,
        description: "/tmp, mode 1777 (world-writable, sticky)".into(),
    });

    for d in &spec.dirs {
        if d.path.is_root() {
            return Err(err(
                "the root directory cannot be listed as a directory to create",
            ));
        }
        if d.mode & !0o7777 != 0 {
            return Err(err(format!(
                "{}: mode {:o} has bits beyond 07777",
                d.path, d.mode
            )));
        }
        let e = TreeEntry::dir(d.mode).owned(d.uid, d.gid);
        if let Some(prev) = tree.entries.get(&d.path)
            && !matches!(prev.kind, crate::tree::EntryKind::Dir)
        {
            return Err(err(format!("{} is both a file and a directory", d.path)));
        }
        add_dir(&mut tree, d.path.clone(), e);
        items.push(SynthesizedItem {
            path: d.path.clone(),
            description: format!("directory, mode {:04o}, owner {}:{}", d.mode, d.uid, d.gid),
        });
    }

    if let Some(fields) = &spec.os_release {
        let mut text = String::new();
        for (k, v) in fields {
            if k.is_empty()
                || !k
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(err(format!("os-release key {k:?} is not [A-Z0-9_]+")));
            }
            if v.contains(['\n', '\0']) {
                return Err(err(format!("os-release value for {k} contains a newline")));
            }
            let escaped: String = v
                .chars()
                .flat_map(|c| match c {
                    '"' | '\\' | '`' | '$' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            text.push_str(&format!("{k}=\"{escaped}\"\n"));
        }
        tree.insert(
            path("etc/os-release")?,
            TreeEntry::bytes(text.into_bytes(), 0o644),
        );
        let id = fields
            .iter()
            .filter(|(k, _)| k == "ID" || k == "VERSION_ID")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        items.push(SynthesizedItem {
            path: path("etc/os-release")?,
            description: format!("os-release ({id}), for scanners that identify the distribution"),
        });
    }
    if spec.nsswitch {
        tree.insert(
            path("etc/nsswitch.conf")?,
            TreeEntry::bytes(NSSWITCH.as_bytes().to_vec(), 0o644),
        );
        items.push(SynthesizedItem {
            path: path("etc/nsswitch.conf")?,
            description: "nsswitch.conf: glibc name service from files and DNS".into(),
        });
    }
    if let Some(bundle) = &spec.ca_bundle {
        let p = path("etc/ssl/certs/ca-certificates.crt")?;
        let certs = bundle
            .windows(27)
            .filter(|w| *w == b"-----BEGIN CERTIFICATE-----")
            .count();
        tree.insert(
            p.clone(),
            TreeEntry {
                kind: crate::tree::EntryKind::File {
                    size: bundle.len() as u64,
                    source: crate::tree::FileSource::Bytes(bundle.clone()),
                },
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
        );
        items.push(SynthesizedItem {
            path: p,
            description: format!("CA bundle, {certs} certificates"),
        });
    }

    Ok(SynthesizedRootfs {
        tree,
        items,
        accounts: accounts.into_values().collect(),
        groups: groups.into_values().collect(),
    })
}

impl SynthesizedRootfs {
    /// Resolve a Dockerfile `USER` value (`name`, `uid`, `name:group`,
    /// `uid:gid`, mixed) to numeric `uid:gid` from the synthesized tables.
    /// A numeric uid with no account keeps gid 0 unless one is given, as
    /// Docker does; an unknown name is an error.
    pub fn resolve_user(&self, user: &str) -> Result<String, ImageError> {
        let (u, g) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user, None),
        };
        let account = match u.parse::<u32>() {
            Ok(uid) => self
                .accounts
                .iter()
                .find(|a| a.uid == uid)
                .map_or(Ok((uid, None)), |a| Ok((a.uid, Some(a.gid)))),
            Err(_) => self
                .accounts
                .iter()
                .find(|a| a.name == u)
                .map(|a| (a.uid, Some(a.gid)))
                .ok_or_else(|| err(format!("USER {user:?}: no account named {u:?}"))),
        }?;
        let gid = match g {
            Some(g) => match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => self
                    .groups
                    .iter()
                    .find(|x| x.name == g)
                    .map(|x| x.gid)
                    .ok_or_else(|| err(format!("USER {user:?}: no group named {g:?}")))?,
            },
            None => account.1.unwrap_or(0),
        };
        Ok(format!("{}:{gid}", account.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{EntryKind, FileSource};

    fn text(r: &SynthesizedRootfs, p: &str) -> String {
        match &r.tree.entries[&ImagePath::new(p).unwrap()].kind {
            EntryKind::File {
                source: FileSource::Bytes(b),
                ..
            } => String::from_utf8(b.to_vec()).unwrap(),
            other => panic!("{p}: {other:?}"),
        }
    }

    fn app() -> Account {
        Account {
            name: "app".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/app".into(),
            shell: Some("/bin/false".into()),
            gecos: None,
        }
    }

    #[test]
    fn passwd_group_and_user_resolution() {
        let r = synthesize_rootfs(&RootfsSpec {
            accounts: vec![app()],
            groups: vec![Group {
                name: "web".into(),
                gid: 2000,
                members: vec!["app".into()],
            }],
            nsswitch: true,
            os_release: Some(vec![
                ("ID".into(), "debian".into()),
                ("VERSION_ID".into(), "12".into()),
                ("PRETTY_NAME".into(), "Debian \"bookworm\"".into()),
            ]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            text(&r, "etc/passwd"),
            "root:x:0:0:root:/root:/sbin/nologin\n\
             app:x:1000:1000::/home/app:/bin/false\n\
             nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
        );
        assert_eq!(
            text(&r, "etc/group"),
            "root:x:0:\napp:x:1000:\nweb:x:2000:app\nnogroup:x:65534:\n"
        );
        assert!(text(&r, "etc/os-release").contains("PRETTY_NAME=\"Debian \\\"bookworm\\\"\"\n"));
        assert!(text(&r, "etc/nsswitch.conf").starts_with("passwd:"));
        assert_eq!(r.tree.entries[&ImagePath::new("tmp").unwrap()].mode, 0o1777);
        let got: Vec<_> = [
            "app",
            "app:web",
            "1000",
            "1000:2000",
            "0",
            "4242",
            "nobody:nogroup",
        ]
        .iter()
        .map(|u| r.resolve_user(u).unwrap())
        .collect();
        assert_eq!(
            got,
            [
                "1000:1000",
                "1000:2000",
                "1000:1000",
                "1000:2000",
                "0:0",
                "4242:0",
                "65534:65534"
            ]
        );
        assert!(r.resolve_user("ghost").is_err());
        assert!(r.resolve_user("app:ghosts").is_err());
        let listed: Vec<_> = r.items.iter().map(|i| i.path.absolute()).collect();
        for p in [
            "/etc/passwd",
            "/etc/group",
            "/tmp",
            "/etc/os-release",
            "/etc/nsswitch.conf",
        ] {
            assert!(
                listed.contains(&p.to_string()),
                "{p} not recorded: {listed:?}"
            );
        }
    }

    #[test]
    fn clashes_and_bad_fields_are_errors() {
        let mut dup_uid = app();
        dup_uid.name = "other".into();
        let cases: Vec<(&str, RootfsSpec)> = vec![
            (
                "uid clash",
                RootfsSpec {
                    accounts: vec![app(), dup_uid],
                    ..Default::default()
                },
            ),
            (
                "colon in name",
                RootfsSpec {
                    accounts: vec![Account {
                        name: "a:b".into(),
                        ..app()
                    }],
                    ..Default::default()
                },
            ),
            (
                "root redeclared",
                RootfsSpec {
                    accounts: vec![Account {
                        name: "root".into(),
                        uid: 5,
                        ..app()
                    }],
                    ..Default::default()
                },
            ),
            (
                "bad os-release key",
                RootfsSpec {
                    os_release: Some(vec![("id".into(), "x".into())]),
                    ..Default::default()
                },
            ),
        ];
        let passed: Vec<_> = cases
            .iter()
            .filter(|(_, s)| synthesize_rootfs(s).is_ok())
            .map(|(n, _)| *n)
            .collect();
        assert!(passed.is_empty(), "accepted: {passed:?}");
    }

    #[test]
    fn dirs_keep_owner_and_mode() {
        let r = synthesize_rootfs(&RootfsSpec {
            accounts: vec![app()],
            dirs: vec![DirSpec {
                path: ImagePath::new("/var/lib/app").unwrap(),
                mode: 0o2750,
                uid: 1000,
                gid: 1000,
            }],
            ..Default::default()
        })
        .unwrap();
        let e = &r.tree.entries[&ImagePath::new("var/lib/app").unwrap()];
        assert_eq!((e.mode, e.uid, e.gid), (0o2750, 1000, 1000));
    }
}
