//! `careplan package install|list`.

use clap::Args;

#[derive(Args, Debug)]
pub struct PackageArgs {}

pub fn run(_args: PackageArgs) -> anyhow::Result<i32> {
    anyhow::bail!("not yet implemented")
}
