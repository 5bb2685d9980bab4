//! Runs every fuzz target's body over its committed corpus
//! (`fuzz/corpus/NAME/`) and over pseudo-random inputs derived from it,
//! each under the allocation bound of [`fuzz_targets::run_bounded`]. One
//! input at a time: the allocation count is process-wide, so this test has
//! no harness threads.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fuzz_targets::{run_bounded, Target, TARGETS};

/// Pseudo-random inputs per target.
const RANDOM_INPUTS: usize = 3000;

/// Longest pseudo-random input, in bytes.
const MAX_RANDOM_BYTES: usize = 600;

fn main() {
    let corpus_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for (index, target) in TARGETS.iter().enumerate() {
        let seeds = corpus(&corpus_root.join(target.name));
        assert!(!seeds.is_empty(), "{}: no corpus", target.name);
        for (path, input) in &seeds {
            run(target, input, &path.display().to_string());
        }
        let inputs: Vec<Vec<u8>> = seeds.into_iter().map(|(_, input)| input).collect();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15 ^ index as u64);
        for i in 0..RANDOM_INPUTS {
            let input = rng.input(&inputs);
            run(
                target,
                &input,
                &format!("pseudo-random input {i}: {input:02x?}"),
            );
        }
        println!(
            "{}: {} corpus files and {RANDOM_INPUTS} pseudo-random inputs passed",
            target.name,
            inputs.len()
        );
    }
}

/// The files of a corpus folder, sorted by name.
fn corpus(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(PathBuf, Vec<u8>)> = entries
        .map(|e| e.expect("readable corpus folder").path())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("readable corpus file");
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

/// Runs one input under the allocation bound; a failure names the input.
fn run(target: &Target, input: &[u8], what: &str) {
    if catch_unwind(AssertUnwindSafe(|| run_bounded(target, input))).is_err() {
        panic!("{} failed on {what}", target.name);
    }
}

/// xorshift64: inputs made from the corpus by flipping, inserting,
/// truncating and splicing bytes, or from nothing.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn input(&mut self, seeds: &[Vec<u8>]) -> Vec<u8> {
        let mut input = if self.below(8) == 0 {
            Vec::new()
        } else {
            seeds[self.below(seeds.len())].clone()
        };
        for _ in 0..=self.below(8) {
            let at = self.below(input.len() + 1);
            match self.below(5) {
                0 if at < input.len() => input[at] ^= 1 << self.below(8),
                1 => input.insert(at, self.next() as u8),
                2 => input.truncate(at),
                3 => {
                    let other = &seeds[self.below(seeds.len())];
                    let from = self.below(other.len() + 1);
                    input.splice(at..at, other[from..].iter().copied().take(self.below(64)));
                }
                _ => {
                    let n = self.below(16);
                    input.splice(
                        at..at,
                        (0..n).map(|_| self.next() as u8).collect::<Vec<_>>(),
                    );
                }
            }
        }
        input.truncate(MAX_RANDOM_BYTES);
        input
    }
}
