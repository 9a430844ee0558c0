//! Users and groups: useradd, groupadd, usermod, adduser, addgroup, gpasswd.

use super::{Invocation, need, or_opaque};
use crate::shell::analyze::Recognized;
use crate::shell::effect::Effect;
use crate::shell::grammar::ParsedArgs;

fn opt(p: &ParsedArgs, key: &str, what: &str) -> Result<Option<String>, String> {
    match p.last(key) {
        Some(a) => need(a, what).map(|v| Some(v.to_string())),
        None => Ok(None),
    }
}

fn id(p: &ParsedArgs, key: &str, what: &str) -> Result<Option<u32>, String> {
    match opt(p, key, what)? {
        Some(v) => v
            .parse::<u32>()
            .map(Some)
            .map_err(|_| format!("the {what} `{v}` is not a number")),
        None => Ok(None),
    }
}

/// A user or group name as the tools accept it.
fn account_name(v: &str) -> Result<String, String> {
    let ok = !v.is_empty()
        && !v.starts_with('-')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'));
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("`{v}` is not a valid account name"))
    }
}

fn one_name(p: &ParsedArgs, tool: &str) -> Result<String, String> {
    match p.operands.as_slice() {
        [a] => account_name(need(a, "account name")?),
        [] => Err(format!("`{tool}` without a name")),
        _ => Err(format!("`{tool}` with more than one name")),
    }
}

fn groups(v: Option<String>) -> Result<Vec<String>, String> {
    match v {
        Some(s) => s
            .split(',')
            .filter(|g| !g.is_empty())
            .map(account_name)
            .collect(),
        None => Ok(Vec::new()),
    }
}

pub(crate) fn useradd(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, useradd_inner(inv))
}

fn useradd_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let p = inv.parsed;
    if p.has("root") {
        return Err("`useradd -R` operates on another root directory".into());
    }
    let system = p.has("system");
    let mut create_home = if p.has("create-home") {
        Some(true)
    } else if p.has("no-create-home") || system {
        // useradd never creates a system account's home without -m.
        Some(false)
    } else {
        None
    };
    // -K overrides of /etc/login.defs: CREATE_HOME decides the home; the id
    // ranges only matter when no id is given; anything else is not modelled.
    for k in p.values("key") {
        let kv = need(k, "login.defs override")?;
        match kv.split_once('=') {
            Some(("CREATE_HOME", v)) => {
                // -m/-M win; system accounts ignore CREATE_HOME.
                if !p.has("create-home") && !p.has("no-create-home") && !system {
                    create_home = Some(v.eq_ignore_ascii_case("yes"));
                }
            }
            Some((
                "UID_MIN" | "UID_MAX" | "GID_MIN" | "GID_MAX" | "SYS_UID_MIN" | "SYS_UID_MAX"
                | "SYS_GID_MIN" | "SYS_GID_MAX" | "MAIL_DIR",
                _,
            )) => {}
            _ => return Err(format!("`useradd -K {kv}` is not modelled")),
        }
    }
    let name = one_name(p, "useradd")?;
    let group = opt(p, "gid", "group")?;
    let user_group = if p.has("user-group") {
        Some(true)
    } else if p.has("no-user-group") || group.is_some() {
        Some(false)
    } else {
        None
    };
    let home = match (
        opt(p, "home-dir", "home directory")?,
        opt(p, "base-dir", "base directory")?,
    ) {
        (Some(h), _) => Some(h),
        (None, Some(b)) => Some(format!("{}/{name}", b.trim_end_matches('/'))),
        (None, None) => None,
    };
    Ok(Recognized::effect(Effect::AddUser {
        uid: id(p, "uid", "user id")?,
        group,
        groups: groups(opt(p, "groups", "groups")?)?,
        home,
        shell: opt(p, "shell", "shell")?,
        gecos: opt(p, "comment", "comment")?,
        system,
        create_home,
        user_group,
        no_password: !p.has("password"),
        name,
        span: inv.span,
    }))
}

pub(crate) fn groupadd(inv: &Invocation<'_>) -> Recognized {
    let p = inv.parsed;
    or_opaque(
        inv.span,
        (|| {
            if p.has("root") {
                return Err("`groupadd -R` operates on another root directory".into());
            }
            Ok(Recognized::effect(Effect::AddGroup {
                name: one_name(p, "groupadd")?,
                gid: id(p, "gid", "group id")?,
                system: p.has("system"),
                span: inv.span,
            }))
        })(),
    )
}

pub(crate) fn usermod(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, usermod_inner(inv))
}

fn usermod_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let p = inv.parsed;
    for (key, what) in [
        ("login", "renames the account"),
        ("lock", "locks the password"),
        ("unlock", "unlocks the password"),
        ("password", "sets the password"),
        ("expiredate", "sets an expiry date"),
        ("comment", "changes the GECOS field"),
        ("move-home", "moves the home directory's files"),
        ("non-unique", "allows a duplicate uid"),
    ] {
        if p.has(key) {
            return Err(format!("`usermod` {what}, which is not modelled"));
        }
    }
    let name = one_name(p, "usermod")?;
    let new_groups = groups(opt(p, "groups", "groups")?)?;
    let append = p.has("append");
    let mut effects = Vec::new();
    if append {
        if new_groups.is_empty() {
            return Err("`usermod -a` without -G".into());
        }
        effects.extend(new_groups.iter().map(|g| Effect::AddUserToGroup {
            user: name.clone(),
            group: g.clone(),
            span: inv.span,
        }));
    }
    let uid = id(p, "uid", "user id")?;
    let group = opt(p, "gid", "group")?;
    let home = opt(p, "home", "home directory")?;
    let shell = opt(p, "shell", "shell")?;
    let replace_groups = (!append && p.has("groups")).then_some(new_groups);
    if uid.is_some()
        || group.is_some()
        || home.is_some()
        || shell.is_some()
        || replace_groups.is_some()
    {
        effects.push(Effect::ModifyUser {
            name,
            uid,
            group,
            groups: replace_groups,
            home,
            shell,
            span: inv.span,
        });
    }
    if effects.is_empty() {
        return Err("`usermod` without a change".into());
    }
    Ok(Recognized {
        effects,
        stdout: crate::shell::analyze::Stream::Known(String::new()),
    })
}

/// Which adduser the command line is written for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Busybox,
    Debian,
    Either,
}

fn dialect(p: &ParsedArgs) -> Dialect {
    let busybox = p.options.iter().any(|o| {
        (!o.spelling.starts_with("--") && o.key != "quiet" && o.key != "conf")
            || matches!(o.key.as_str(), "empty-password" | "skel")
    });
    let debian = p.options.iter().any(|o| {
        matches!(
            o.key.as_str(),
            "disabled-login"
                | "gid"
                | "group"
                | "force-badname"
                | "firstuid"
                | "lastuid"
                | "add-extra-groups"
                | "conf"
                | "debug"
        )
    });
    match (busybox, debian) {
        (true, false) => Dialect::Busybox,
        (false, true) => Dialect::Debian,
        _ => Dialect::Either,
    }
}

pub(crate) fn adduser(inv: &Invocation<'_>) -> Recognized {
    or_opaque(inv.span, adduser_inner(inv))
}

fn adduser_inner(inv: &Invocation<'_>) -> Result<Recognized, String> {
    let p = inv.parsed;
    let creation = p
        .options
        .iter()
        .any(|o| o.key != "quiet" && o.key != "conf");
    match p.operands.as_slice() {
        [user, group] => {
            if creation {
                return Err(
                    "`adduser USER GROUP` adds a user to a group and takes no creation options"
                        .into(),
                );
            }
            return Ok(Recognized::effect(Effect::AddUserToGroup {
                user: account_name(need(user, "user name")?)?,
                group: account_name(need(group, "group name")?)?,
                span: inv.span,
            }));
        }
        [_] => {}
        [] => return Err("`adduser` without a name".into()),
        _ => return Err("`adduser` with more than two names".into()),
    }
    let d = dialect(p);
    if p.has("group") && !p.has("system") {
        return Err("`adduser --group` without --system creates a group".into());
    }
    if p.has("firstuid") || p.has("lastuid") || p.has("add-extra-groups") || p.has("conf") {
        return Err("`adduser` id ranges, extra groups or another configuration file".into());
    }
    let name = one_name(p, "adduser")?;
    let system = p.has("system");
    let ingroup = opt(p, "ingroup", "group")?;
    let gid = opt(p, "gid", "group id")?;
    let group = ingroup.clone().or(gid.clone());
    let create_home = if p.has("no-create-home") {
        Some(false)
    } else {
        match d {
            // busybox creates the home directory unless -H, system users too.
            Dialect::Busybox => Some(true),
            // Debian creates it for normal users; for system users it
            // depends on the adduser version and the --home given.
            _ if !system => Some(true),
            _ => None,
        }
    };
    let user_group = if group.is_some() {
        Some(false)
    } else if p.has("group") {
        Some(true)
    } else if d == Dialect::Debian && !system {
        // Debian's USERGROUPS=yes default.
        Some(true)
    } else {
        None
    };
    Ok(Recognized::effect(Effect::AddUser {
        uid: id(p, "uid", "user id")?,
        group,
        groups: Vec::new(),
        home: opt(p, "home", "home directory")?,
        shell: opt(p, "shell", "shell")?,
        gecos: opt(p, "gecos", "GECOS field")?,
        system,
        create_home,
        user_group,
        no_password: p.has("no-password")
            || p.has("disabled-login")
            || (system && d != Dialect::Busybox),
        name,
        span: inv.span,
    }))
}

pub(crate) fn addgroup(inv: &Invocation<'_>) -> Recognized {
    let p = inv.parsed;
    or_opaque(
        inv.span,
        (|| match p.operands.as_slice() {
            [user, group] => {
                if p.has("gid") || p.has("system") {
                    return Err("`addgroup USER GROUP` takes no creation options".into());
                }
                Ok(Recognized::effect(Effect::AddUserToGroup {
                    user: account_name(need(user, "user name")?)?,
                    group: account_name(need(group, "group name")?)?,
                    span: inv.span,
                }))
            }
            _ => Ok(Recognized::effect(Effect::AddGroup {
                name: one_name(p, "addgroup")?,
                gid: id(p, "gid", "group id")?,
                system: p.has("system"),
                span: inv.span,
            })),
        })(),
    )
}

pub(crate) fn gpasswd(inv: &Invocation<'_>) -> Recognized {
    let p = inv.parsed;
    or_opaque(
        inv.span,
        (|| {
            if p.has("delete") || p.has("members") {
                return Err("`gpasswd -d/-M` changes group membership in ways not modelled".into());
            }
            let Some(user) = p.last("add") else {
                return Err("`gpasswd` without -a".into());
            };
            Ok(Recognized::effect(Effect::AddUserToGroup {
                user: account_name(need(user, "user name")?)?,
                group: one_name(p, "gpasswd")?,
                span: inv.span,
            }))
        })(),
    )
}
