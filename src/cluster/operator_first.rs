//! Which KEDA operator pods' logs `diagnose` reads, and which it may read
//! before the operator pods' list is in: the pods a past run read (see
//! `remember`). Their log read goes in the first round of reads beside the
//! list; the list then decides which answers count (a pod it does not name,
//! or not running, was replaced: its early answer is dropped and the pod the
//! list names is read, a second round only when the operator restarted).

use super::remember::{self, LogPod};
use crate::snapshot::PodInfo;

/// The operator pods whose log is read: the running ones, each with the
/// container read (the `keda-operator` one, else the first).
pub fn log_targets(pods: &[PodInfo]) -> Vec<LogPod> {
    pods.iter()
        .filter(|p| p.phase == "Running")
        .map(|p| LogPod {
            name: p.name.clone(),
            container: p
                .containers
                .iter()
                .find(|c| c.name.contains("keda-operator"))
                .or_else(|| p.containers.first())
                .map(|c| c.name.clone()),
        })
        .collect()
}

/// The pods to read before the list is in (none for a context never seen).
pub fn early(key: &str) -> Vec<LogPod> {
    remember::operator_pods(key)
}

/// Pairs each of `targets` with its early answer, if one was read for the
/// same pod and container; early answers for any other pod are dropped.
pub fn match_early<T>(targets: &[LogPod], early: Vec<(LogPod, T)>) -> Vec<(LogPod, Option<T>)> {
    let mut early: Vec<Option<(LogPod, T)>> = early.into_iter().map(Some).collect();
    targets
        .iter()
        .map(|t| {
            let found = early
                .iter_mut()
                .find(|e| e.as_ref().is_some_and(|(p, _)| p == t))
                .and_then(Option::take)
                .map(|(_, answer)| answer);
            (t.clone(), found)
        })
        .collect()
}

/// Remembers `targets` as the pods to read first next time.
pub fn remember(key: &str, targets: &[LogPod]) {
    remember::set_operator_pods(key, targets);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> LogPod {
        LogPod {
            name: name.into(),
            container: Some("keda-operator".into()),
        }
    }

    #[test]
    fn early_answers_count_only_for_the_pods_the_list_names() {
        let targets = [pod("op-b"), pod("op-c")];
        let early = vec![(pod("op-a"), 1), (pod("op-b"), 2)];
        let matched = match_early(&targets, early);
        assert_eq!(matched, [(pod("op-b"), Some(2)), (pod("op-c"), None)]);
        // Another container of the same pod is not the same read.
        let other = LogPod {
            name: "op-b".into(),
            container: None,
        };
        assert_eq!(
            match_early(&targets[..1], vec![(other, 3)]),
            [(pod("op-b"), None)]
        );
    }
}
