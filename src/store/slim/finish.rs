//! From the walk's decisions to the result: kept trees, dropped files and
//! packages with reasons and bytes, totals, licence copies.

use std::collections::{BTreeMap, BTreeSet};

use crate::tree::{EntryKind, FileTree, ImagePath, TreeEntry};

use super::rules::UNREACHABLE_PACKAGE;
use super::view::Owner;
use super::walk::Walk;
use super::{
    DroppedFile, DroppedPackage, KeptPackage, LicenceCopy, RuleOverride, RuleTotal, SlimError,
    SlimResult,
};

pub(crate) fn finish(mut walk: Walk<'_>) -> Result<SlimResult, SlimError> {
    let mut result = SlimResult::default();
    let packages = walk.packages;
    let root_paths: BTreeSet<&ImagePath> = walk.roots.paths.iter().collect();

    for (i, p) in packages.iter().enumerate() {
        let Some(reason) = walk.kept[i].clone() else {
            continue;
        };
        let drops = &walk.rule_drops[i];
        let mut tree = FileTree::new();
        // Non-directories: everything but rule drops.
        for (path, entry) in &p.tree.entries {
            if matches!(entry.kind, EntryKind::Dir) {
                continue;
            }
            if let Some(&rule) = drops.get(path) {
                let r = &walk.file_rules[rule];
                result.dropped_files.push(DroppedFile {
                    package: p.name.clone(),
                    path: path.clone(),
                    rule: r.id.clone(),
                    reason: r.reason.clone(),
                    bytes: file_bytes(entry),
                });
            } else {
                tree.insert(path.clone(), entry.clone());
            }
        }
        // Directories: deepest first, so a directory knows whether anything
        // below it stayed.
        let had_content: BTreeSet<ImagePath> = p
            .tree
            .entries
            .keys()
            .flat_map(|k| k.ancestors().collect::<Vec<_>>())
            .collect();
        let mut has_kept: BTreeSet<ImagePath> = tree
            .entries
            .keys()
            .flat_map(|k| k.ancestors().collect::<Vec<_>>())
            .collect();
        let dirs: Vec<(&ImagePath, &TreeEntry)> = p
            .tree
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.kind, EntryKind::Dir))
            .collect();
        let exempt = walk.roots.keep_whole_packages.contains(&p.name);
        for (path, entry) in dirs.into_iter().rev() {
            let keep = exempt
                || has_kept.contains(path)
                || root_paths.contains(path)
                || !(had_content.contains(path)
                    || walk.file_rules.iter().any(|r| r.matches(path.as_str())));
            if keep {
                has_kept.extend(path.ancestors());
                tree.insert(path.clone(), entry.clone());
            }
        }
        result.kept_packages.push(KeptPackage {
            name: p.name.clone(),
            reason,
            bytes: tree.file_bytes(),
        });
        result.kept_trees.insert(p.name.clone(), tree);
    }

    for ((i, path), (rule, chain)) in std::mem::take(&mut walk.overrides) {
        result.rule_overrides.push(RuleOverride {
            package: packages[i].name.clone(),
            path,
            rule: walk.file_rules[rule].id.clone(),
            chain,
        });
    }

    // Dropped packages, with who depended on them.
    for (i, p) in packages.iter().enumerate() {
        if walk.kept[i].is_some() {
            continue;
        }
        let dependents: Vec<&str> = packages
            .iter()
            .enumerate()
            .filter(|(j, q)| walk.kept[*j].is_some() && q.depends.contains(&p.name))
            .map(|(_, q)| q.name.as_str())
            .collect();
        let elf_files = walk.elf_count(i)?;
        let mut reason = if elf_files > 0 {
            let files = if elf_files == 1 {
                "its ELF file".to_string()
            } else {
                format!("any of its {elf_files} ELF files")
            };
            format!(
                "no kept file needs {files} (as interpreter or DT_NEEDED library) and no command, kept path or dlopen edge names its files"
            )
        } else {
            "no command, kept path or dlopen edge names its files and no kept package depends on it"
                .to_string()
        };
        if !dependents.is_empty() {
            reason.push_str(&format!(
                "; kept packages depend on it ({}), but a package with programs or libraries stays only when one of them is used",
                dependents.join(", ")
            ));
        }
        result.dropped_packages.push(DroppedPackage {
            name: p.name.clone(),
            rule: UNREACHABLE_PACKAGE.to_string(),
            reason,
            bytes: p.tree.file_bytes(),
        });
    }

    licence_copies(&walk, &mut result);

    let mut totals: BTreeMap<String, RuleTotal> = BTreeMap::new();
    for f in &result.dropped_files {
        let t = totals.entry(f.rule.clone()).or_default();
        t.items += 1;
        t.bytes += f.bytes;
    }
    for p in &result.dropped_packages {
        let t = totals.entry(p.rule.clone()).or_default();
        t.items += 1;
        t.bytes += p.bytes;
    }
    result.totals = totals;
    result.warnings = std::mem::take(&mut walk.warnings);
    result.reached = walk.take_reached();
    dedup_in_order(&mut result.warnings);
    Ok(result)
}

fn file_bytes(entry: &TreeEntry) -> u64 {
    match entry.kind {
        EntryKind::File { size, .. } => size,
        _ => 0,
    }
}

/// A kept package whose `/usr/share/doc/<name>` is a symlink into a dropped
/// package gets that package's copyright file in its own tree.
fn licence_copies(walk: &Walk<'_>, result: &mut SlimResult) {
    for (i, p) in walk.packages.iter().enumerate() {
        if walk.kept[i].is_none() {
            continue;
        }
        let doc_links: Vec<ImagePath> = p
            .tree
            .entries
            .iter()
            .filter(|(path, e)| {
                matches!(e.kind, EntryKind::Symlink { .. })
                    && path.parent().is_some_and(|d| d.as_str() == "usr/share/doc")
            })
            .map(|(path, _)| path.clone())
            .collect();
        for link in doc_links {
            let Ok(copyright) = link.join("copyright") else {
                continue;
            };
            let Some(target) = walk.view.resolve(&copyright, true).target else {
                continue;
            };
            let Some((owner, entry)) = walk.view.primary(&target) else {
                continue;
            };
            let Owner::Package(j) = owner else { continue };
            if walk.kept[j].is_some() || !matches!(entry.kind, EntryKind::File { .. }) {
                continue;
            }
            let Some(tree) = result.kept_trees.get_mut(&p.name) else {
                continue;
            };
            tree.insert(link.clone(), TreeEntry::dir(0o755));
            tree.insert(copyright.clone(), entry.clone());
            result.licence_copies.push(LicenceCopy {
                package: p.name.clone(),
                path: copyright,
                from_package: walk.packages[j].name.clone(),
                from_path: target,
            });
        }
        if let Some(k) = result.kept_packages.iter_mut().find(|k| k.name == p.name) {
            k.bytes = result
                .kept_trees
                .get(&p.name)
                .map(FileTree::file_bytes)
                .unwrap_or(0);
        }
    }
}

fn dedup_in_order<T: Ord + Clone>(v: &mut Vec<T>) {
    let mut seen = BTreeSet::new();
    v.retain(|x| seen.insert(x.clone()));
}
