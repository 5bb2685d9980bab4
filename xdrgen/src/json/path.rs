//! The path of the value being decoded or encoded, rendered only when an
//! error needs it.

use std::fmt::Write as _;

/// One step of a path.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    /// A struct field, union discriminant or arm.
    Field(&'a str),
    /// An array or list element.
    Index(usize),
}

/// A stack of steps below a root type name.
#[derive(Debug)]
pub(super) struct Path<'a> {
    root: &'a str,
    steps: Vec<Step<'a>>,
}

impl<'a> Path<'a> {
    pub(super) fn new(root: &'a str) -> Self {
        Self {
            root,
            steps: Vec::new(),
        }
    }

    pub(super) fn field(&mut self, name: &'a str) {
        self.steps.push(Step::Field(name));
    }

    pub(super) fn index(&mut self, i: usize) {
        self.steps.push(Step::Index(i));
    }

    pub(super) fn pop(&mut self) {
        self.steps.pop();
    }

    /// `root.field[3].arm`.
    pub(super) fn render(&self) -> String {
        let mut s = self.root.to_owned();
        for step in &self.steps {
            let _ = match step {
                Step::Field(name) => write!(s, ".{name}"),
                Step::Index(i) => write!(s, "[{i}]"),
            };
        }
        s
    }
}
