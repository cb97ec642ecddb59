//! The command line, as clap derive types. Only parsing lives here; validation
//! and precedence (flags > env > config file > defaults) live in `settings`.

use crate::commands::completion;
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;
use std::path::PathBuf;

/// Is pod-per-session scaling healthy? Runs the spice-runner on-call runbook
/// (KEDA, HPA, pods, nodes, Prometheus) against your current kube context.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl spice",
    bin_name = "kubectl spice",
    version,
    long_version = crate::commands::version::LONG,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Exit codes: 0 ok, 1 a check failed, 2 could not run, 3 incomplete (nothing failed,\n\
                  but a source that exists could not be read; 1 wins over 3).\n\
                  Docs: kubectl spice <command> --help"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One screen: pods, KEDA, HPA, nodes, sessions and the sessions-per-pod ratio.
    Status(StatusArgs),
    /// Every runbook check chained into a pass/warn/fail report, root cause first.
    ///
    /// Exit 0 when nothing failed and every source that exists was read; 1 when a
    /// check failed (with --fail-on warn: or warned); 2 when it could not run;
    /// 3 (incomplete) when nothing failed but a source that exists could not be
    /// read, so some checks are `error`. 1 wins over 3. A source that is not
    /// installed (no Loki Service, no Karpenter API) is `skip`, not a gap; drop a
    /// source you do not run with --skip or `silence` in the config file.
    Diagnose(DiagnoseArgs),
    /// The status, live from watch streams, with measured scale-up and scale-down times.
    Watch(WatchArgs),
    /// What a check looks at, why, and how to fix what it finds; `explain runbook`: the runbook's own mistakes.
    ///
    /// `kubectl spice explain runbook` lists each command or query of the
    /// runbook the plugin does differently; `kubectl spice explain runbook N`
    /// (or its name, e.g. `wc-header`) shows what is wrong with it and the
    /// corrected command, as the plugin runs it.
    Explain(ExplainArgs),
    /// Save everything collected (no secrets) to a file, to replay with `--from`.
    Snapshot(SnapshotArgs),
    /// Show the effective settings and where each one came from.
    Config(ConfigArgs),
    /// Print the version, the git commit and the Kubernetes API version it was built for.
    Version(VersionArgs),
    /// Print the runbook's alert rules, corrected, for these settings.
    Alerts(AlertsArgs),
    /// Run the runbook's testing scenarios with synthetic sessions and judge them.
    Test(Box<crate::commands::test::TestArgs>),
    /// Print a Grafana dashboard (JSON) with the runbook's panels, for these settings.
    Dashboard,
    /// Print a shell completion script (see the README for kubectl's `kubectl_complete-spice`).
    Completion(CompletionArgs),
    /// Print the man page (roff): `kubectl spice man | man -l -`.
    Man,
    /// The runbook's Key Metrics over a past period (24h, 7d) from Prometheus
    /// history, each against its target; exit 1 when one is missed.
    Report(crate::commands::report::ReportArgs),
    /// One chronological list for an incident: scaling episodes, band changes,
    /// Kubernetes events and KEDA operator errors.
    Timeline(crate::commands::timeline::TimelineArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Read a saved snapshot instead of the cluster (offline replay).
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// One line per change instead of the full screen: `json` (`kind:
    /// WatchEvent` lines) or `text` (the default when stdout is not a terminal).
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<WatchOutput>,
    /// How often to sample (the clock and chart move on it) and, at most, to
    /// print (100ms to 1h).
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub interval: String,
    /// How much history to show (sessions, pods, nodes), read from Prometheus
    /// at start and kept: --interval to 24h.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub window: String,
    /// Stop with exit 0 once this holds. Stopped before it held (--timeout,
    /// Ctrl-C): exit 1 when what was read shows it does not hold, 3 when a
    /// source could not be read so it could not be judged.
    #[arg(long, value_enum, value_name = "COND")]
    pub until: Option<Until>,
    /// Give up after this long (with --until: exit 1, or 3 if undecided; else 0):
    /// 100ms to 168h (7 days).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchOutput {
    Text,
    Json,
}

/// `healthy`: no diagnose check fails; `scaled`: running pods match sessions
/// (green band, or both zero); `idle`: no sessions and no pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Until {
    Healthy,
    Scaled,
    Idle,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ReportFormat::Table)]
    pub output: ReportFormat,
    /// Run only these checks (ids or globs such as `keda.*`; repeat or comma-separate).
    #[arg(long, value_name = "IDS", value_delimiter = ',', add = ArgValueCandidates::new(completion::check_selectors))]
    pub only: Vec<String>,
    /// Leave out these checks (ids or globs).
    #[arg(long, value_name = "IDS", value_delimiter = ',', add = ArgValueCandidates::new(completion::check_selectors))]
    pub skip: Vec<String>,
    /// Run just the runbook's troubleshooting chain for a symptom, in its order.
    #[arg(long, value_enum)]
    pub symptom: Option<Symptom>,
    /// Exit 1 on failures only (default), or on warnings too (a gap still exits 3).
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
    /// Replay a saved snapshot instead of reading the cluster.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Replay an example shipped inside the plugin (`broken-chain`,
    /// `healthy`): try it without a cluster, from any directory.
    #[arg(long, value_name = "NAME", conflicts_with = "from")]
    pub example: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Wide,
    Json,
    Yaml,
    Junit,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Symptom {
    NoScaleUp,
    NoScaleDown,
    TooFast,
    TooSlow,
}

impl Symptom {
    pub fn name(self) -> &'static str {
        match self {
            Symptom::NoScaleUp => "no-scale-up",
            Symptom::NoScaleDown => "no-scale-down",
            Symptom::TooFast => "too-fast",
            Symptom::TooSlow => "too-slow",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Fail,
    Warn,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A check id, e.g. keda.ready; or `runbook` for the runbook's own mistakes.
    #[arg(required_unless_present = "list", add = ArgValueCandidates::new(completion::check_ids))]
    pub id: Option<String>,
    /// With `runbook`: one of its mistakes, by number or name (e.g. 2, wc-header).
    #[arg(value_name = "ENTRY", add = ArgValueCandidates::new(completion::runbook_flaws))]
    pub entry: Option<String>,
    /// List every check.
    #[arg(long)]
    pub list: bool,
}

#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// Where to write the snapshot (JSON); `-` for stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: std::path::PathBuf,
    /// Replace FILE if it exists (a symlink is replaced, never followed).
    #[arg(long)]
    pub force: bool,
    /// Also keep this much metric history (e.g. 24h, 7d), for `report --from`
    /// and `timeline --from`.
    #[arg(long, value_name = "DURATION")]
    pub history: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting, its value and its source (flag, env, config file, default).
    View {
        #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Table)]
        output: Output,
        /// Also read the cluster (the reads diagnose makes, each bounded by
        /// --request-timeout) and show the values found there and what said so.
        #[arg(long)]
        discover: bool,
    },
}

// The output format and the colour choice are the report layer's own types
// (it must not import this module); clap parses them from here.
pub use crate::report::{ColorChoice, Output};

impl GlobalArgs {
    /// The kubeconfig flags, as the cluster layer takes them.
    pub fn kubeconfig_choice(&self) -> crate::cluster::client::KubeconfigChoice {
        crate::cluster::client::KubeconfigChoice {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            cluster: self.cluster.clone(),
            user: self.user.clone(),
        }
    }

    /// The settings the flags give, as the settings layer takes them.
    pub fn overrides(&self) -> crate::settings::Overrides {
        crate::settings::Overrides {
            namespace: self.namespace.clone(),
            selector: self.selector.clone(),
            deployment: self.deployment.clone(),
            scaled_object: self.scaled_object.clone(),
            nginx_service: self.nginx_service.clone(),
            prometheus_service: self.prometheus_service.clone(),
            prometheus_url: self.prometheus_url.clone(),
            prometheus_tenant: self.prometheus_tenant.clone(),
            loki_url: self.loki_url.clone(),
            loki_tenant: self.loki_tenant.clone(),
            keda_namespace: self.keda_namespace.clone(),
            request_timeout: self.request_timeout.clone(),
            color: self.color,
        }
    }
}

/// Flags every command takes: kubectl's connection flags, then the names the
/// runbook hard-codes (each also settable by `SPICE_*` and the config file).
#[derive(Debug, Args, Default, Clone)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Kubernetes")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Kubernetes", add = ArgValueCandidates::new(completion::contexts))]
    pub context: Option<String>,
    /// The kubeconfig cluster to use.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Kubernetes", add = ArgValueCandidates::new(completion::clusters))]
    pub cluster: Option<String>,
    /// The kubeconfig user to use.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Kubernetes", add = ArgValueCandidates::new(completion::users))]
    pub user: Option<String>,
    /// Namespace of the game (default: the context's namespace, else "default").
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NS",
        help_heading = "Kubernetes",
        add = ArgValueCandidates::new(completion::namespaces)
    )]
    pub namespace: Option<String>,
    /// Time limit for each request, e.g. 5s, 1m: 100ms to 1h (0 = the built-in 10s).
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Kubernetes"
    )]
    pub request_timeout: Option<String>,

    /// When to colour the output.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        help_heading = "Display"
    )]
    pub color: Option<ColorChoice>,
    /// Settings file (default: $XDG_CONFIG_HOME/kubectl-spice/config.yaml).
    #[arg(long, global = true, value_name = "FILE", help_heading = "Display")]
    pub config: Option<PathBuf>,

    /// Label selector of the game pods [default: app=spice-runner].
    #[arg(
        short = 'l',
        long,
        global = true,
        value_name = "SELECTOR",
        help_heading = "Spice"
    )]
    pub selector: Option<String>,
    /// The Deployment KEDA scales [default: spice-runner].
    #[arg(long, global = true, value_name = "NAME", help_heading = "Spice")]
    pub deployment: Option<String>,
    /// The KEDA ScaledObject [default: spice-runner-keda].
    #[arg(long, global = true, value_name = "NAME", help_heading = "Spice")]
    pub scaled_object: Option<String>,
    /// The `service` label of the nginx request metric [default: spice-runner-nginx].
    #[arg(long, global = true, value_name = "NAME", help_heading = "Spice")]
    pub nginx_service: Option<String>,
    /// Prometheus as NAMESPACE/SERVICE:PORT, reached through the API server's
    /// service proxy [default: observability/prometheus:9090].
    #[arg(
        long,
        global = true,
        value_name = "NS/SVC:PORT",
        help_heading = "Spice"
    )]
    pub prometheus_service: Option<String>,
    /// Prometheus base URL, instead of the service proxy. A bearer token is read
    /// from $SPICE_PROMETHEUS_TOKEN (never from a flag).
    #[arg(long, global = true, value_name = "URL", help_heading = "Spice")]
    pub prometheus_url: Option<String>,
    /// Tenant for a multi-tenant Prometheus (Mimir, Cortex, Thanos receive),
    /// sent as X-Scope-OrgID [default: the ScaledObject trigger's customHeaders].
    #[arg(long, global = true, value_name = "TENANT", help_heading = "Spice")]
    pub prometheus_tenant: Option<String>,
    /// Loki base URL, instead of the service proxy (token from $SPICE_LOKI_TOKEN).
    #[arg(long, global = true, value_name = "URL", help_heading = "Spice")]
    pub loki_url: Option<String>,
    /// Tenant for a multi-tenant Loki, sent as X-Scope-OrgID.
    #[arg(long, global = true, value_name = "TENANT", help_heading = "Spice")]
    pub loki_tenant: Option<String>,
    /// Namespace of the KEDA operator [default: keda].
    #[arg(long, global = true, value_name = "NS", help_heading = "Spice")]
    pub keda_namespace: Option<String>,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format (default: text).
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<VersionFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionFormat {
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// `prometheusrule`: a monitoring.coreos.com/v1 PrometheusRule for the
    /// Prometheus Operator; `rules`: a plain Prometheus rule file;
    /// `recording-rules`: its recording group alone (to backfill).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = AlertsFormat::PrometheusRule)]
    pub output: AlertsFormat,
    /// A label for the PrometheusRule, so the Prometheus's ruleSelector picks
    /// it up (e.g. release=kube-prometheus-stack); repeat for more.
    #[arg(long = "rule-label", value_name = "KEY=VALUE")]
    pub rule_labels: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlertsFormat {
    #[value(name = "prometheusrule")]
    PrometheusRule,
    Rules,
    /// The recording group alone, as a plain rule file: for `promtool tsdb
    /// create-blocks-from rules`, which would also write each alert rule's
    /// expression as a series.
    #[value(name = "recording-rules")]
    RecordingRules,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to print the script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_flag_is_a_clap_flag_and_every_setting_flag_has_a_definition() {
        use clap::{CommandFactory, Parser};
        let cmd = Cli::command();
        let clap_flags: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        for d in crate::settings::SETTINGS.iter().filter_map(|d| d.flag) {
            assert!(clap_flags.iter().any(|f| f == d), "{d} is not a clap flag");
        }
        // Connection flags are kubectl's, not settings.
        let connection = [
            "--kubeconfig",
            "--context",
            "--cluster",
            "--user",
            "--config",
        ];
        for f in clap_flags
            .iter()
            .filter(|f| !connection.contains(&f.as_str()))
        {
            if f == "--help" || f == "--version" {
                continue;
            }
            let def = crate::settings::SETTINGS
                .iter()
                .find(|d| d.flag == Some(f.as_str()));
            let def = def.unwrap_or_else(|| panic!("global flag {f} has no setting definition"));
            // The flag's value reaches the setting.
            let cli = Cli::try_parse_from(["kubectl-spice", f.as_str(), "never", "status"])
                .expect("a global flag with a value");
            assert_eq!(
                cli.global.overrides().value(def.key).as_deref(),
                Some("never"),
                "{f}"
            );
        }
    }
}
