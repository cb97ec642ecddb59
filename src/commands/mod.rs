//! One module per subcommand: glue between settings, collect and renderers.

pub mod config;
pub mod status;
pub mod version;

use crate::cli::GlobalArgs;
use crate::cluster::client::KubeTarget;
use crate::error::Fatal;
use crate::settings::{ConfigFile, Settings};

/// Loads kubeconfig and resolves settings for a command that talks to a cluster.
pub async fn connect(global: &GlobalArgs) -> Result<(KubeTarget, Settings), Fatal> {
    let env = crate::process_env;
    let file = ConfigFile::load(global.config.as_deref())?;
    let target = KubeTarget::load(global, &env).await?;
    let settings = Settings::resolve(global, &env, &file, target.context.as_deref(), target.context_namespace.as_deref())?;
    Ok((target, settings))
}
