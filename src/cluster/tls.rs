//! The TLS settings of the connection to the API server, from the
//! kubeconfig: the cluster's CA (or the system's trust store when it names
//! none), `insecure-skip-tls-verify`, and the user's client certificate
//! (`client-certificate`/`client-key` files or their `-data`, or the one an
//! exec plugin gave, which `client` puts there as data).
//!
//! kube-rs builds the same, but asks its auth code first whether an exec
//! plugin gives a certificate, which links all of it (see `auth`).

use kube::config::AuthInfo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::{self, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// The rustls client settings for `config`'s server; the error is one line
/// that quotes no key material.
pub fn client_config(config: &kube::Config) -> Result<ClientConfig, String> {
    let builder = match &config.root_cert {
        Some(ders) => {
            let mut roots = RootCertStore::empty();
            for der in ders {
                roots
                    .add(CertificateDer::from(der.clone()))
                    .map_err(|e| format!("the cluster's certificate-authority: {e}"))?;
            }
            ClientConfig::builder().with_root_certificates(roots)
        }
        // No CA in the kubeconfig: the system's trust store, as client-go
        // leaves `RootCAs` nil.
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            ClientConfig::builder()
                .with_platform_verifier()
                .map_err(|e| format!("the system's trust store: {e}"))?
        }
    };
    let mut tls = match identity(&config.auth_info)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("the client certificate and key: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    if config.accept_invalid_certs {
        let schemes = tls
            .crypto_provider()
            .signature_verification_algorithms
            .supported_schemes();
        tls.dangerous()
            .set_certificate_verifier(Arc::new(NoVerification(schemes)));
    }
    Ok(tls)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The user's client certificate chain and key, if it has one.
fn identity(user: &AuthInfo) -> Result<Option<Identity>, String> {
    use secrecy::ExposeSecret;
    let cert = load(
        "client-certificate",
        user.client_certificate_data.as_deref(),
        user.client_certificate.as_deref(),
    )?;
    let key = load(
        "client-key",
        user.client_key_data.as_ref().map(|k| k.expose_secret()),
        user.client_key.as_deref(),
    )?;
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(_), None) => return Err("a client-certificate without a client-key".into()),
        (None, Some(_)) => return Err("a client-key without a client-certificate".into()),
        (Some(c), Some(k)) => (c, k),
    };
    let mut chain = Vec::new();
    let mut keys = [None, None, None];
    let mut reader = std::io::Cursor::new(
        key.iter()
            .chain(b"\n")
            .chain(&cert)
            .copied()
            .collect::<Vec<u8>>(),
    );
    loop {
        let section = pem::from_buf(&mut reader)
            .map_err(|_| "the client certificate or key is not valid PEM".to_string())?;
        let Some((kind, der)) = section else { break };
        match kind {
            SectionKind::Certificate => chain.push(CertificateDer::from(der)),
            SectionKind::PrivateKey => keys[0] = Some(PrivateKeyDer::Pkcs8(der.into())),
            SectionKind::RsaPrivateKey => keys[1] = Some(PrivateKeyDer::Pkcs1(der.into())),
            SectionKind::EcPrivateKey => keys[2] = Some(PrivateKeyDer::Sec1(der.into())),
            _ => {
                return Err(
                    "the client-key is in an unknown format (PKCS#8, PKCS#1 or SEC1 PEM are read)"
                        .into(),
                );
            }
        }
    }
    let key = keys
        .into_iter()
        .flatten()
        .next()
        .ok_or("the client-key holds no private key (PKCS#8, PKCS#1 or SEC1 PEM)")?;
    if chain.is_empty() {
        return Err("the client-certificate holds no certificate".into());
    }
    Ok(Some((chain, key)))
}

/// One of the user's files, from its base64 `-data` or its path.
fn load(what: &str, data: Option<&str>, file: Option<&str>) -> Result<Option<Vec<u8>>, String> {
    if let Some(data) = data {
        return decode_base64(data)
            .map(Some)
            .ok_or_else(|| format!("{what}-data is not valid base64"));
    }
    let Some(path) = file else { return Ok(None) };
    std::fs::read(path).map(Some).map_err(|e| {
        format!(
            "cannot read the {what} file {}: {}",
            crate::error::quote(path),
            crate::error::io_reason(&e)
        )
    })
}

/// Standard base64 (padding optional, whitespace skipped, as Go's decoder
/// of kubeconfig bytes skips line breaks).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut ended = false;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                ended = true;
                continue;
            }
            _ => return None,
        };
        if ended {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `insecure-skip-tls-verify: true`: any certificate is taken (its
/// signatures over the handshake are still checked by rustls's schemes).
#[derive(Debug)]
struct NoVerification(Vec<SignatureScheme>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_kubeconfigs_write_it() {
        let plain = b"-----BEGIN CERTIFICATE-----\nMII\n";
        let encoded = crate::cluster::client::base64(plain);
        assert_eq!(decode_base64(&encoded).as_deref(), Some(&plain[..]));
        let wrapped: String = encoded
            .as_bytes()
            .chunks(8)
            .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(decode_base64(&wrapped).as_deref(), Some(&plain[..]));
        assert_eq!(
            decode_base64(encoded.trim_end_matches('=')).as_deref(),
            Some(&plain[..])
        );
        assert_eq!(decode_base64("YWxp*2U="), None);
        assert_eq!(decode_base64("YW=xp"), None);
    }

    fn user(value: serde_json::Value) -> AuthInfo {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_client_certificate_from_files_or_data_is_the_identity() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["alice".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_pem, key_pem) = (cert.pem(), key.serialize_pem());
        let b64 = |s: &str| crate::cluster::client::base64(s.as_bytes());
        let data = user(serde_json::json!({
            "client-certificate-data": b64(&cert_pem),
            "client-key-data": b64(&key_pem),
        }));
        let (chain, _) = identity(&data).unwrap().unwrap();
        assert_eq!(chain, vec![cert.der().clone()]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.crt"), &cert_pem).unwrap();
        std::fs::write(dir.path().join("c.key"), &key_pem).unwrap();
        let files = user(serde_json::json!({
            "client-certificate": dir.path().join("c.crt"),
            "client-key": dir.path().join("c.key"),
        }));
        let (chain, _) = identity(&files).unwrap().unwrap();
        assert_eq!(chain, vec![cert.der().clone()]);
        assert!(identity(&user(serde_json::json!({}))).unwrap().is_none());
    }

    #[test]
    fn a_broken_identity_is_one_line_without_the_key() {
        let key = rcgen::KeyPair::generate().unwrap();
        let key_pem = key.serialize_pem();
        let b64 = |s: &str| crate::cluster::client::base64(s.as_bytes());
        let cases = [
            serde_json::json!({"client-key-data": b64(&key_pem)}),
            serde_json::json!({"client-certificate-data": b64("x"), "client-key-data": "!!"}),
            serde_json::json!({"client-certificate-data": b64("no pem"), "client-key-data": b64(&key_pem)}),
            serde_json::json!({"client-certificate": "/nonexistent/c.crt", "client-key-data": b64(&key_pem)}),
        ];
        for case in cases {
            let e = identity(&user(case.clone()))
                .err()
                .unwrap_or_else(|| panic!("{case}"));
            assert!(!e.contains('\n') && !e.contains("PRIVATE"), "{e}");
        }
    }
}
