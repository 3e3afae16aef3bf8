//! The layers of the app crate import one way: every source file is read, each `crate::…`
//! path it names is an edge from its top module to another, and an edge must go down a layer,
//! or between features along [`FEATURE_USES`] and only to what the used feature offers at its
//! root (its types, server functions and `ssr` module), never its UI or SQL files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// From the bottom up; a module imports only from the layers below its own.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "rules",
        &[
            "attachments",
            "auto_contacts",
            "codec",
            "epoch",
            "error",
            "i18n",
            "json",
            "lifecycle",
            "permissions",
            "search",
            "standing",
            "validate",
            "window",
        ],
    ),
    ("kit", &["kit"]),
    (
        "infrastructure",
        &[
            "db",
            "event_log",
            "mail",
            "media",
            "orgs",
            "secrets",
            "state",
        ],
    ),
    ("auth", &["auth"]),
    (
        "features",
        &[
            "accounts",
            "contacts",
            "conversations",
            "notifications",
            "profile",
            "quick_replies",
            "roles",
            "setup",
            "templates",
            "users",
        ],
    ),
    ("pages", &["pages"]),
    ("shell", &["shell"]),
];

/// Which features a feature may use (through what they offer at their root).
const FEATURE_USES: &[(&str, &[&str])] = &[
    (
        "conversations",
        &["accounts", "contacts", "quick_replies", "templates"],
    ),
    ("profile", &["users"]),
    ("roles", &["users"]),
    ("setup", &["users"]),
    ("templates", &["accounts"]),
];

/// Macros exported at the crate's root, by the module that defines them.
const ROOT_MACROS: &[(&str, &str)] = &[("from_json", "json"), ("stored_as_text", "db")];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn may_use(feature: &str, other: &str) -> bool {
    FEATURE_USES
        .iter()
        .any(|(from, to)| *from == feature && to.contains(&other))
}

/// Every `crate::a::b…` path in `source` (comments left out), as its segments.
fn crate_paths(source: &str) -> Vec<Vec<String>> {
    let code: String = source
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        expand(rest, Vec::new(), &mut paths);
    }
    paths
}

/// Reads one path (or a `{…}` group of them) at the start of `text`, after `prefix`.
fn expand(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let text = text.trim_start();
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(&group[start..i], prefix.clone(), out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&group[start..i], prefix.clone(), out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let word = &text[..end];
    if word.is_empty() || word == "self" {
        if !prefix.is_empty() {
            out.push(prefix);
        }
        return;
    }
    let mut path = prefix;
    path.push(word.to_string());
    match text[end..].strip_prefix("::") {
        Some(more) => expand(more, path, out),
        None => out.push(path),
    }
}

/// The top module a file belongs to, and its path below it (`conversations/list.rs` is
/// `conversations`, `["list"]`).
fn module_of(relative: &Path) -> (String, Vec<String>) {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    let top = parts.remove(0);
    (top, parts)
}

/// What is wrong with the edges of the sources given as (path below `src`, text), given the
/// submodules of each feature.
fn violations(sources: &[(String, String)]) -> Vec<String> {
    let mut submodules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, _) in sources {
        let (top, below) = module_of(Path::new(path));
        if let Some(first) = below.first() {
            submodules.entry(top).or_default().insert(first.clone());
        }
    }
    let mut wrong = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources {
        let (from, _) = module_of(Path::new(path));
        if from == "lib" || from == "layers" {
            continue;
        }
        let Some(from_layer) = layer_of(&from) else {
            wrong.push(format!("{path}: module `{from}` is in no layer"));
            continue;
        };
        for segments in crate_paths(text) {
            let first = segments[0].as_str();
            let to = ROOT_MACROS
                .iter()
                .find(|(name, _)| *name == first)
                .map_or(first, |(_, module)| module);
            if to == from {
                continue;
            }
            let Some(to_layer) = layer_of(to) else {
                continue;
            };
            edges
                .entry(from.clone())
                .or_default()
                .insert(to.to_string());
            let shown = segments.join("::");
            if to_layer > from_layer {
                wrong.push(format!(
                    "{path}: `crate::{shown}` goes up from {} to {}",
                    LAYERS[from_layer].0, LAYERS[to_layer].0
                ));
            } else if to_layer == from_layer && LAYERS[from_layer].0 == "features" {
                if !may_use(&from, to) {
                    wrong.push(format!(
                        "{path}: feature `{from}` uses `{to}` (`crate::{shown}`), not in FEATURE_USES"
                    ));
                } else if let Some(inner) = segments.get(1).filter(|s| {
                    s.as_str() != "ssr" && submodules.get(to).is_some_and(|subs| subs.contains(*s))
                }) {
                    wrong.push(format!(
                        "{path}: `crate::{shown}` reaches into `{to}::{inner}`; use what `{to}` offers at its root"
                    ));
                }
            }
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        wrong.push(format!("import cycle: {}", cycle.join(" -> ")));
    }
    wrong
}

/// A cycle among the modules' edges, if there is one.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|node| visit(node, edges, &mut done, &mut Vec::new()))
}

fn read_sources(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).expect("the source folder") {
        let path = entry.expect("a source entry").path();
        if path.is_dir() {
            read_sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("below src");
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.push((relative.to_string_lossy().into_owned(), text));
        }
    }
}

#[test]
fn every_import_goes_down_a_layer() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    read_sources(&root, &root, &mut sources);
    assert!(sources.len() > 50, "the sources were not found");
    let wrong = violations(&sources);
    assert!(wrong.is_empty(), "wrong imports:\n{}", wrong.join("\n"));
}

#[test]
fn a_wrong_edge_is_caught() {
    let source = |path: &str, text: &str| (path.to_string(), text.to_string());
    let sources = [
        source("kit/nav.rs", "use crate::auth::CurrentUser;"),
        source("contacts/mod.rs", "use crate::conversations::Thread;"),
        source(
            "conversations/mod.rs",
            "use crate::contacts::{ContactView, store::ssr::by_id};",
        ),
        source("contacts/store.rs", ""),
        source(
            "conversations/list.rs",
            "// crate::shell is only named here",
        ),
        source("templates/mod.rs", "use crate::accounts::ssr::access;"),
        source("accounts/mod.rs", "use crate::accounts::store;"),
    ];
    let wrong = violations(&sources);
    assert_eq!(wrong.len(), 4, "{wrong:#?}");
    assert!(wrong[0].contains("goes up from kit to auth"));
    assert!(wrong[1].contains("feature `contacts` uses `conversations`"));
    assert!(wrong[2].contains("reaches into `contacts::store`"));
    assert!(wrong[3].starts_with("import cycle: contacts -> conversations -> contacts"));
}

#[test]
fn grouped_paths_are_read_whole() {
    let paths = crate_paths("use crate::{a::{b, c::D}, e};\nlet x = $crate::f::g!();");
    let shown: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(shown, ["a::b", "a::c::D", "e", "f::g"]);
}
