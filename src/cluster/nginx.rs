//! The nginx pods' probes, for the idle floor (`domain::probes`). Read in
//! the first wave beside the game pods' list: the pods labelled
//! `app=<nginxService>` in the game's namespace (the runbook's Service
//! `spice-runner-nginx` selects `app: spice-runner-nginx`), one bounded page,
//! so no extra round trip. Only the probes are kept.

use crate::domain::probes::{DEFAULT_PERIOD_SECS, NginxPod, ProbeInfo};
use crate::domain::text::one_line;
use k8s_openapi::api::core::v1::{ContainerPort, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use kube::core::ObjectMeta;
use serde::Deserialize;
use std::borrow::Cow;
use std::time::Duration;

use super::lenient::Lenient;

/// An nginx pod as far as its probes go: the containers' names, images,
/// ports and probes, in k8s-openapi's shapes. The rest of the spec (volumes,
/// affinity: k8s-openapi's largest decoder) and the status are skipped while
/// parsing.
#[derive(Deserialize, Clone, Debug, Default)]
pub struct Pod {
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: Option<PodSpec>,
}

#[derive(Deserialize, Clone, Debug, Default)]
pub struct PodSpec {
    #[serde(default)]
    pub containers: Vec<Container>,
}

#[derive(Deserialize, Clone, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    pub image: Option<String>,
    pub ports: Option<Vec<ContainerPort>>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
}

impl kube::Resource for Pod {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Pod".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "pods".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// At most this many nginx pods are read (one page).
const NGINX_POD_PAGE: u32 = 50;

/// The nginx pods' probes; `None` when the read failed or timed out (the
/// floor then says probes were not counted).
pub async fn read(
    client: &kube::Client,
    namespace: &str,
    nginx_service: &str,
    timeout: Duration,
) -> Option<Vec<NginxPod>> {
    let api: Api<Lenient<Pod>> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default()
        .labels(&format!("app={nginx_service}"))
        .limit(NGINX_POD_PAGE);
    let list = tokio::time::timeout(timeout, api.list(&params))
        .await
        .ok()?
        .ok()?;
    Some(list.items.iter().map(|p| pod(&p.0)).collect())
}

/// Whether a container is nginx itself (not its exporter): named `nginx`,
/// or running an nginx image that is not the exporter's.
fn is_nginx(c: &Container) -> bool {
    let image = c
        .image
        .as_deref()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    c.name == "nginx"
        || (image.starts_with("nginx")
            && !image.contains("exporter")
            && !c.name.contains("exporter"))
}

fn container_ports(c: &Container) -> Vec<i64> {
    c.ports
        .iter()
        .flatten()
        .map(|p| i64::from(p.container_port))
        .collect()
}

/// The port a probe reaches: a number, or a name looked up in the probe's own
/// container (kubelet `findPortByName`).
fn port(port: &IntOrString, c: &Container) -> Option<i64> {
    match port {
        IntOrString::Int(n) => Some(i64::from(*n)),
        IntOrString::String(name) => c
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .map(|p| i64::from(p.container_port))
            .or_else(|| name.parse().ok()),
    }
}

pub fn pod(p: &Pod) -> NginxPod {
    let containers: &[Container] = p.spec.as_ref().map_or(&[], |s| &s.containers);
    let nginx: Vec<&Container> = match containers
        .iter()
        .filter(|c| is_nginx(c))
        .collect::<Vec<_>>()
    {
        found if !found.is_empty() => found,
        _ if containers.len() == 1 => containers.iter().collect(),
        _ => Vec::new(),
    };
    let nginx_ports: Vec<i64> = nginx.iter().flat_map(|c| container_ports(c)).collect();
    let mut probes = Vec::new();
    for c in containers {
        let own = nginx.iter().any(|n| n.name == c.name);
        for (kind, probe) in [
            ("liveness", &c.liveness_probe),
            ("readiness", &c.readiness_probe),
            ("startup", &c.startup_probe),
        ] {
            let Some(probe) = probe else { continue };
            probes.push(probe_info(c, kind, probe, own, &nginx_ports));
        }
    }
    NginxPod {
        name: one_line(p.metadata.name.as_deref().unwrap_or("")).into_owned(),
        probes,
    }
}

fn probe_info(
    c: &Container,
    kind: &str,
    probe: &Probe,
    own: bool,
    nginx_ports: &[i64],
) -> ProbeInfo {
    let (handler, port, path) = if let Some(h) = &probe.http_get {
        (
            "httpGet",
            port(&h.port, c),
            h.path
                .as_deref()
                .map(|p| one_line(&p.chars().take(100).collect::<String>()).into_owned()),
        )
    } else if let Some(t) = &probe.tcp_socket {
        ("tcpSocket", port(&t.port, c), None)
    } else if let Some(g) = &probe.grpc {
        ("grpc", Some(i64::from(g.port)), None)
    } else if probe.exec.is_some() {
        ("exec", None, None)
    } else {
        ("unknown", None, None)
    };
    let reaches_nginx = match port {
        Some(n) if !nginx_ports.is_empty() => nginx_ports.contains(&n),
        _ => own,
    };
    ProbeInfo {
        container: one_line(&c.name.chars().take(63).collect::<String>()).into_owned(),
        kind: kind.into(),
        handler: handler.into(),
        period_seconds: probe
            .period_seconds
            .map_or(DEFAULT_PERIOD_SECS, i64::from)
            .max(1),
        port,
        path,
        reaches_nginx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nginx_pod(probe: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "spice-runner-nginx-5c6b8d9f47-q7wzt"},
            "spec": {"containers": [
                {"name": "nginx", "image": "docker-hub/library/nginx:1.27.3",
                 "ports": [{"containerPort": 8080, "name": "http"}],
                 "readinessProbe": probe},
                {"name": "exporter", "image": "docker-hub/nginx/nginx-prometheus-exporter:1.4.2",
                 "ports": [{"containerPort": 9113, "name": "metrics"}],
                 "livenessProbe": {"httpGet": {"path": "/metrics", "port": "metrics"}}}
            ]}
        }))
        .unwrap_or_default()
    }

    #[test]
    fn an_http_probe_on_the_named_nginx_port_reaches_nginx_and_the_exporters_does_not() {
        let p = pod(&nginx_pod(serde_json::json!(
            {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
        )));
        assert_eq!(p.probes.len(), 2, "{p:?}");
        let ready = &p.probes[0];
        assert_eq!(
            (
                ready.kind.as_str(),
                ready.handler.as_str(),
                ready.port,
                ready.reaches_nginx
            ),
            ("readiness", "httpGet", Some(8080), true)
        );
        let live = &p.probes[1];
        assert_eq!(
            (live.port, live.reaches_nginx, live.period_seconds),
            (Some(9113), false, 10)
        );
    }

    #[test]
    fn a_tcp_socket_probe_is_carried_but_never_counts() {
        let p = pod(&nginx_pod(serde_json::json!(
            {"tcpSocket": {"port": 8080}, "periodSeconds": 10}
        )));
        assert_eq!(p.probes[0].handler, "tcpSocket");
        assert!(p.probes[0].reaches_nginx);
        assert!(!p.probes[0].counts());
    }
}
