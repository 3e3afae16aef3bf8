//! `buzon-bundle`: builds the browser's bundle into `target/site`.
//!
//! 1. compiles the `frontend` crate for `wasm32-unknown-unknown` (in `$CARGO_TARGET_DIR/front`,
//!    so the server's builds keep their own compiled dependencies);
//! 2. with `--split`, cuts the lazy-loaded chunks out of that module (`wasm_split_cli_support`,
//!    the same cut Leptos' `#[lazy]` functions are written for) and writes the manifest the
//!    server reads to prefetch them;
//! 3. generates the JavaScript bindings (`wasm-bindgen-cli-support`) as `pkg/buzon.js` and
//!    `pkg/buzon.wasm`;
//! 4. with `--release`, compiles the standard library for size and shrinks every module with
//!    `wasm-opt -Oz` (npm's binaryen);
//! 5. copies the stylesheet to `pkg/buzon.css` and `public/` to the site's root;
//! 6. with `--precompress`, writes a brotli and a gzip copy beside every file, which the server
//!    sends as they are.
//!
//! Run from the workspace's root: `buzon-bundle [--release] [--split] [--precompress]`.

use std::{
    env, fs,
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{bail, ensure, Context, Result};

/// The name Leptos' hydration scripts load (`LeptosOptions::output_name`).
const OUTPUT_NAME: &str = "buzon";
const SITE_ROOT: &str = "target/site";
const PKG_DIR: &str = "pkg";
const STYLE_FILE: &str = "style/main.css";
const ASSETS_DIR: &str = "public";
/// The file Leptos' `HydrationScripts` imports the chunks' loader from, by this name.
const SPLIT_LOADER: &str = "./__wasm_split.______________________.js";
const SPLIT_MANIFEST: &str = "__wasm_split_manifest.json";

/// Views are type-erased for every build (`.cargo/config.toml`), and the chunks are cut along
/// the linker's relocations, which the linker keeps only when asked.
const WASM_RUSTFLAGS: &str = "--cfg erase_components -Clink-args=--emit-relocs";
/// The release build's panics stop at once instead of formatting a message, without the source
/// locations a message would name (docs/bundle-size.md). Unstable options: the pinned stable
/// toolchain takes them through `RUSTC_BOOTSTRAP` for this build only.
const RELEASE_RUSTFLAGS: &str = "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none";

#[derive(Debug, Default, PartialEq)]
struct Options {
    release: bool,
    split: bool,
    precompress: bool,
}

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Options> {
        let mut options = Options::default();
        for arg in args {
            match arg.as_str() {
                "--release" => options.release = true,
                "--split" => options.split = true,
                "--precompress" => options.precompress = true,
                other => bail!(
                    "unknown argument {other:?}; usage: buzon-bundle [--release] [--split] [--precompress]"
                ),
            }
        }
        Ok(options)
    }

    /// Cargo's profile and the folder it writes that profile's artifacts to.
    fn profile(&self) -> (&'static str, &'static str) {
        if self.release {
            ("wasm-release", "wasm-release")
        } else {
            ("dev", "debug")
        }
    }
}

fn main() -> Result<()> {
    let options = Options::parse(env::args().skip(1))?;
    ensure!(
        Path::new("frontend/Cargo.toml").is_file(),
        "run buzon-bundle from the workspace's root"
    );
    let target_dir =
        env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    let front_target = target_dir.join("front");
    let site = PathBuf::from(SITE_ROOT);
    let pkg = site.join(PKG_DIR);

    step("compiling the frontend for the browser", || {
        compile(&options, &front_target)
    })?;
    let compiled = front_target
        .join("wasm32-unknown-unknown")
        .join(options.profile().1)
        .join("frontend.wasm");

    if site.exists() {
        fs::remove_dir_all(&site)
            .with_context(|| format!("removing the old {}", site.display()))?;
    }
    fs::create_dir_all(&pkg)?;

    let mut modules = vec![pkg.join(format!("{OUTPUT_NAME}.wasm"))];
    let main_module = if options.split {
        let (main, chunks) = step("cutting out the lazy-loaded chunks", || {
            split(&compiled, &pkg)
        })?;
        modules.extend(chunks);
        main
    } else {
        compiled
    };
    step("generating the JavaScript bindings", || {
        bindgen(&main_module, &pkg, options.split)
    })?;
    if options.release {
        step("shrinking the modules with wasm-opt", || {
            optimize_all(&modules)
        })?;
    }
    step("copying the stylesheet and the public assets", || {
        fs::copy(STYLE_FILE, pkg.join(format!("{OUTPUT_NAME}.css")))
            .with_context(|| format!("copying {STYLE_FILE}"))?;
        copy_dir(Path::new(ASSETS_DIR), &site)
    })?;
    if options.precompress {
        step("writing brotli and gzip copies", || precompress(&site))?;
    }
    Ok(())
}

/// Runs one step and says how long it took.
fn step<T>(what: &str, run: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("buzon-bundle: {what}");
    let started = Instant::now();
    let result = run().with_context(|| format!("buzon-bundle failed {what}"))?;
    eprintln!(
        "buzon-bundle: {what}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(result)
}

fn compile(options: &Options, front_target: &Path) -> Result<()> {
    let mut cargo = Command::new("cargo");
    cargo
        .args([
            "build",
            "--package=frontend",
            "--lib",
            "--target=wasm32-unknown-unknown",
        ])
        .arg(format!("--profile={}", options.profile().0))
        .arg("--target-dir")
        .arg(front_target);
    let mut rustflags = WASM_RUSTFLAGS.to_string();
    if options.release {
        // The standard library compiled with the bundle, optimised for size: only what the
        // bundle calls, without the precompiled library's formatting and panic machinery.
        cargo
            .args([
                "-Zbuild-std=std,panic_abort",
                "-Zbuild-std-features=optimize_for_size",
            ])
            .env("RUSTC_BOOTSTRAP", "1");
        rustflags = format!("{rustflags} {RELEASE_RUSTFLAGS}");
    }
    // A target's rustflags replace `[build] rustflags` rather than adding to them.
    cargo.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS", rustflags);
    let status = cargo.status().context("starting cargo")?;
    ensure!(
        status.success(),
        "cargo build of the frontend failed ({status})"
    );
    Ok(())
}

/// Cuts the module at its lazy-loaded functions: the chunks go to `pkg`, the main module next
/// to the compiled one, for the bindings to be generated from. Returns both.
fn split(compiled: &Path, pkg: &Path) -> Result<(PathBuf, Vec<PathBuf>)> {
    let input = fs::read(compiled).with_context(|| format!("reading {}", compiled.display()))?;
    let main = compiled.with_file_name("frontend_split.wasm");
    let main_module = format!("./{OUTPUT_NAME}.js");
    let mut options = wasm_split_cli_support::Options::new(&input);
    options.output_dir = pkg;
    options.main_out_path = &main;
    options.main_module = &main_module;
    options.link_name = SPLIT_LOADER;
    let cut = wasm_split_cli_support::transform(options).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    fs::write(
        pkg.join(SPLIT_MANIFEST),
        serde_json::to_string_pretty(&cut.prefetch_map)?,
    )?;
    Ok((main, cut.split_modules))
}

fn bindgen(module: &Path, pkg: &Path, split: bool) -> Result<()> {
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(module)
        .out_name(OUTPUT_NAME)
        .web(true)?
        .typescript(false)
        .omit_default_module_path(false)
        // The chunks call the main module's functions by their linker names.
        .keep_lld_exports(split)
        .demangle(!split)
        .generate(pkg)?;
    // Leptos' hydration script loads `<output name>.wasm`.
    fs::rename(
        pkg.join(format!("{OUTPUT_NAME}_bg.wasm")),
        pkg.join(format!("{OUTPUT_NAME}.wasm")),
    )?;
    Ok(())
}

/// wasm-opt on every module, largest first, one per core: npm's wasm-opt takes about a second
/// to start, which most of the small chunks do not take to shrink.
fn optimize_all(modules: &[PathBuf]) -> Result<()> {
    let mut queue: Vec<&PathBuf> = modules.iter().collect();
    queue.sort_by_key(|m| std::cmp::Reverse(fs::metadata(m).map_or(0, |m| m.len())));
    let queue = std::sync::Mutex::new(queue.into_iter());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| loop {
                    let next = queue.lock().expect("the queue of modules").next();
                    match next {
                        Some(module) => optimize(module)?,
                        None => return Ok(()),
                    }
                })
            })
            .collect();
        running
            .into_iter()
            .try_for_each(|worker| worker.join().expect("a wasm-opt worker panicked"))
    })
}

fn optimize(module: &Path) -> Result<()> {
    let status = Command::new("wasm-opt")
        .args([
            "-Oz",
            "--enable-bulk-memory",
            "--enable-nontrapping-float-to-int",
        ])
        .arg(module)
        .arg("-o")
        .arg(module)
        .status()
        .context("starting wasm-opt (npm's binaryen)")?;
    ensure!(
        status.success(),
        "wasm-opt failed on {} ({status})",
        module.display()
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Brotli at its highest quality and gzip at its best level, beside every file of the site.
fn precompress(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            precompress(&path)?;
            continue;
        }
        if matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            continue;
        }
        let bytes = fs::read(&path)?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&bytes)?;
        fs::write(with_suffix(&path, "gz"), gzip.finish()?)?;
        let mut brotli = Vec::new();
        let params = brotli::enc::BrotliEncoderParams::default();
        brotli::BrotliCompress(&mut bytes.as_slice(), &mut brotli, &params)?;
        fs::write(with_suffix(&path, "br"), brotli)?;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn reads_its_flags_and_refuses_others() {
        assert_eq!(parse(&[]).unwrap(), Options::default());
        let all = parse(&["--release", "--split", "--precompress"]).unwrap();
        assert_eq!(
            all,
            Options {
                release: true,
                split: true,
                precompress: true
            }
        );
        assert_eq!(all.profile(), ("wasm-release", "wasm-release"));
        assert_eq!(Options::default().profile(), ("dev", "debug"));
        let error = parse(&["--relase"]).unwrap_err().to_string();
        assert!(
            error.contains("--relase") && error.contains("usage"),
            "{error}"
        );
    }

    #[test]
    fn compressed_copies_sit_beside_each_file_and_decompress_to_it() {
        let dir = env::temp_dir().join(format!("buzon-bundle-test-{}", std::process::id()));
        fs::create_dir_all(dir.join("pkg")).unwrap();
        let text = "¡Hola! ".repeat(500);
        fs::write(dir.join("pkg/app.js"), &text).unwrap();
        fs::write(dir.join("old.js.br"), "left alone").unwrap();
        precompress(&dir).unwrap();

        let mut unzipped = String::new();
        let gz = fs::read(dir.join("pkg/app.js.gz")).unwrap();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(gz.as_slice()),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, text);
        let br = fs::read(dir.join("pkg/app.js.br")).unwrap();
        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(&mut br.as_slice(), &mut unbrotli).unwrap();
        assert_eq!(unbrotli, text.as_bytes());
        assert!(
            br.len() < text.len() / 10,
            "brotli at its best shrinks repeated text"
        );
        assert!(
            !dir.join("old.js.br.br").exists(),
            "compressed files are not compressed again"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
