//! From the plan's accounts to passwd/group entries with numeric ids.
//!
//! Choices (the issue was silent):
//! - Ids the Dockerfile gave are kept. Others are allocated like `useradd`:
//!   system accounts take the highest free id from 999 down to 100,
//!   others the lowest free id from 1000 up. Users and groups are
//!   allocated separately, in Dockerfile order.
//! - A user whose primary group is not named gets a group of its own name,
//!   as `useradd` does with `USERGROUPS_ENAB yes` (Debian's default); its
//!   gid is the uid when that is free, else allocated like the group of a
//!   system or ordinary account.
//! - A user's primary group may be a group the Dockerfile declares, `root`,
//!   `nogroup`, or a number. Any other name is an error at the user's line:
//!   `useradd -g` would have failed there too.
//! - An account declared twice (alpine's `addgroup` + `adduser -G`, or a
//!   `|| true` retry) keeps its first declaration.
//! - Home defaults to `/home/NAME` (what `useradd` writes even when it does
//!   not create it); the shell to `/sbin/nologin` (image::rootfs's default).

use std::collections::{BTreeMap, BTreeSet};

use crate::image::{Account, Group};
use crate::plan::{AccountKind, Plan, Provenance};

/// An account problem, at its Dockerfile place.
#[derive(Debug, Clone)]
pub struct AccountError {
    pub message: String,
    pub provenance: Provenance,
}

/// Numeric accounts for the image, and where each came from.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    pub users: Vec<Account>,
    pub groups: Vec<Group>,
    /// Account name (user or group, prefixed `user:`/`group:`) -> where it was declared.
    pub declared_at: BTreeMap<String, Provenance>,
}

const SYSTEM_MAX: u32 = 999;
const SYSTEM_MIN: u32 = 100;
const USER_MIN: u32 = 1000;
const ID_MAX: u32 = 60000;

fn allocate(used: &BTreeSet<u32>, system: bool) -> Option<u32> {
    if system {
        (SYSTEM_MIN..=SYSTEM_MAX)
            .rev()
            .find(|id| !used.contains(id))
    } else {
        (USER_MIN..=ID_MAX).find(|id| !used.contains(id))
    }
}

/// Give every account of the plan a numeric id.
pub fn allocate_accounts(plan: &Plan) -> Result<Accounts, Vec<AccountError>> {
    let mut errors = Vec::new();
    let mut out = Accounts::default();
    let builtin_users: [(&str, u32); 2] = [("root", 0), ("nobody", 65534)];
    let builtin_groups: [(&str, u32); 2] = [("root", 0), ("nogroup", 65534)];

    // First declarations only.
    let mut seen = BTreeSet::new();
    let accounts: Vec<_> = plan
        .accounts
        .iter()
        .filter(|a| seen.insert((a.kind == AccountKind::User, a.name.clone())))
        .collect();

    let mut used_gids: BTreeSet<u32> = builtin_groups.iter().map(|g| g.1).collect();
    let mut used_uids: BTreeSet<u32> = builtin_users.iter().map(|u| u.1).collect();
    for a in &accounts {
        if let Some(id) = a.id {
            match a.kind {
                AccountKind::Group => used_gids.insert(id),
                AccountKind::User => used_uids.insert(id),
            };
        }
    }

    // Groups.
    let mut gid_of: BTreeMap<String, u32> = builtin_groups
        .iter()
        .map(|(n, g)| (n.to_string(), *g))
        .collect();
    for a in accounts.iter().filter(|a| a.kind == AccountKind::Group) {
        if let Some(&gid) = gid_of.get(&a.name) {
            // root/nogroup redeclared: accepted when the id agrees.
            if a.id.is_some_and(|id| id != gid) {
                errors.push(AccountError {
                    message: format!("group {} already has gid {gid}", a.name),
                    provenance: a.provenance.clone(),
                });
            }
            continue;
        }
        let gid = match a.id {
            Some(id) => id,
            None => match allocate(&used_gids, a.system) {
                Some(id) => {
                    used_gids.insert(id);
                    id
                }
                None => {
                    errors.push(AccountError {
                        message: format!("no free gid for group {}", a.name),
                        provenance: a.provenance.clone(),
                    });
                    continue;
                }
            },
        };
        gid_of.insert(a.name.clone(), gid);
        out.declared_at
            .insert(format!("group:{}", a.name), a.provenance.clone());
        out.groups.push(Group {
            name: a.name.clone(),
            gid,
            members: Vec::new(),
        });
    }

    // Users.
    for a in accounts.iter().filter(|a| a.kind == AccountKind::User) {
        if let Some((_, uid)) = builtin_users.iter().find(|(n, _)| *n == a.name) {
            if a.id.is_some_and(|id| id != *uid) {
                errors.push(AccountError {
                    message: format!("user {} already has uid {uid}", a.name),
                    provenance: a.provenance.clone(),
                });
            }
            continue;
        }
        let uid = match a.id {
            Some(id) => id,
            None => match allocate(&used_uids, a.system) {
                Some(id) => {
                    used_uids.insert(id);
                    id
                }
                None => {
                    errors.push(AccountError {
                        message: format!("no free uid for user {}", a.name),
                        provenance: a.provenance.clone(),
                    });
                    continue;
                }
            },
        };
        let gid = match &a.group {
            Some(g) => match g.parse::<u32>() {
                Ok(gid) => gid,
                Err(_) => match gid_of.get(g) {
                    Some(&gid) => gid,
                    None => {
                        errors.push(AccountError {
                            message: format!(
                                "user {}'s primary group {g} is declared nowhere in the Dockerfile",
                                a.name
                            ),
                            provenance: a.provenance.clone(),
                        });
                        continue;
                    }
                },
            },
            None => match gid_of.get(&a.name) {
                Some(&gid) => gid,
                None => {
                    let gid = if used_gids.contains(&uid) {
                        match allocate(&used_gids, a.system) {
                            Some(g) => g,
                            None => {
                                errors.push(AccountError {
                                    message: format!("no free gid for user {}'s group", a.name),
                                    provenance: a.provenance.clone(),
                                });
                                continue;
                            }
                        }
                    } else {
                        uid
                    };
                    used_gids.insert(gid);
                    gid_of.insert(a.name.clone(), gid);
                    out.declared_at
                        .insert(format!("group:{}", a.name), a.provenance.clone());
                    out.groups.push(Group {
                        name: a.name.clone(),
                        gid,
                        members: Vec::new(),
                    });
                    gid
                }
            },
        };
        out.declared_at
            .insert(format!("user:{}", a.name), a.provenance.clone());
        out.users.push(Account {
            name: a.name.clone(),
            uid,
            gid,
            home: a
                .home
                .clone()
                .unwrap_or_else(|| format!("/home/{}", a.name)),
            shell: a.shell.clone(),
            gecos: None,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// An owner as `chown` and `COPY --chown` write it, resolved to ids.
///
/// `chown` semantics (`mode = Chown`): `user` changes only the owner,
/// `user:` also sets the user's login group, `:group` only the group.
/// `COPY --chown` semantics (`mode = CopyChown`): as Docker documents it,
/// "a username without groupname or a UID without GID will use the same
/// numeric UID as the GID".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerSyntax {
    Chown,
    CopyChown,
}

/// A resolved owner; `None` leaves that id unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Owner {
    pub fn apply(&self, uid: &mut u32, gid: &mut u32) {
        if let Some(u) = self.uid {
            *uid = u;
        }
        if let Some(g) = self.gid {
            *gid = g;
        }
    }
}

pub fn resolve_owner(
    spec: &str,
    users: &[Account],
    groups: &[Group],
    syntax: OwnerSyntax,
) -> Result<Owner, String> {
    let user_id = |u: &str| -> Result<(u32, Option<u32>), String> {
        match u.parse::<u32>() {
            Ok(uid) => Ok((uid, users.iter().find(|a| a.uid == uid).map(|a| a.gid))),
            Err(_) => users
                .iter()
                .find(|a| a.name == u)
                .map(|a| (a.uid, Some(a.gid)))
                .ok_or_else(|| format!("no user named {u:?}")),
        }
    };
    let group_id = |g: &str| -> Result<u32, String> {
        match g.parse::<u32>() {
            Ok(gid) => Ok(gid),
            Err(_) => groups
                .iter()
                .find(|x| x.name == g)
                .map(|x| x.gid)
                .ok_or_else(|| format!("no group named {g:?}")),
        }
    };
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("empty owner".into());
    }
    // `chown user.group` is the historical spelling.
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => match spec.split_once('.') {
            Some((u, g)) if syntax == OwnerSyntax::Chown && user_id(spec).is_err() => (u, Some(g)),
            _ => (spec, None),
        },
    };
    let (uid, login_gid) = if u.is_empty() {
        (None, None)
    } else {
        let (uid, gid) = user_id(u)?;
        (Some(uid), gid)
    };
    let gid = match (g, syntax) {
        (Some(""), OwnerSyntax::Chown) => Some(login_gid.unwrap_or(0)),
        (Some(""), OwnerSyntax::CopyChown) => uid,
        (Some(g), _) => Some(group_id(g)?),
        (None, OwnerSyntax::Chown) => None,
        (None, OwnerSyntax::CopyChown) => uid,
    };
    Ok(Owner { uid, gid })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<Account> {
        vec![Account {
            name: "app".into(),
            uid: 1000,
            gid: 2000,
            home: "/home/app".into(),
            shell: None,
            gecos: None,
        }]
    }

    fn groups() -> Vec<Group> {
        vec![Group {
            name: "web".into(),
            gid: 3000,
            members: vec![],
        }]
    }

    #[test]
    fn owners_follow_chown_and_copy_rules() {
        let cases = [
            ("app", OwnerSyntax::Chown, Some(1000), None),
            ("app:", OwnerSyntax::Chown, Some(1000), Some(2000)),
            ("app:web", OwnerSyntax::Chown, Some(1000), Some(3000)),
            (":web", OwnerSyntax::Chown, None, Some(3000)),
            ("app.web", OwnerSyntax::Chown, Some(1000), Some(3000)),
            ("5:6", OwnerSyntax::Chown, Some(5), Some(6)),
            ("app", OwnerSyntax::CopyChown, Some(1000), Some(1000)),
            ("app:web", OwnerSyntax::CopyChown, Some(1000), Some(3000)),
            ("7", OwnerSyntax::CopyChown, Some(7), Some(7)),
        ];
        let mut bad = Vec::new();
        for (spec, syntax, uid, gid) in cases {
            let got = resolve_owner(spec, &users(), &groups(), syntax);
            if got != Ok(Owner { uid, gid }) {
                bad.push(format!("{spec} {syntax:?}: {got:?}"));
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
        assert!(resolve_owner("ghost", &users(), &groups(), OwnerSyntax::Chown).is_err());
        assert!(resolve_owner("app:ghosts", &users(), &groups(), OwnerSyntax::Chown).is_err());
        assert!(resolve_owner("", &users(), &groups(), OwnerSyntax::Chown).is_err());
    }
}
