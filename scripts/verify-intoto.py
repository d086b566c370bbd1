"""Checks a restore-drill attestation bundle with code no one on restore-drill wrote.

    pip install securesystemslib[crypto] in-toto-attestation
    python3 verify-intoto.py REPORT.intoto.jsonl evidence.pub

securesystemslib verifies each DSSE envelope's Ed25519 signature; the in-toto
attestation bindings check the Statement (v1) and the test-result predicate.
Prints one line per test result; exits 1 at the first line that does not hold.
"""
import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization
from google.protobuf import json_format
from in_toto_attestation.predicates.test_result.v0 import test_result_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey

TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"

bundle, pubkey = sys.argv[1], sys.argv[2]
with open(pubkey, "rb") as f:
    pub = serialization.load_pem_public_key(f.read())
# restore-drill's key id: sha256 of the public key's DER (SubjectPublicKeyInfo), hex.
der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
key = SSlibKey.from_crypto(pub, keyid=hashlib.sha256(der).hexdigest())

try:
    with open(bundle, encoding="utf-8") as f:
        lines = f.read().splitlines()
    if not lines:
        raise ValueError("no envelope in the bundle")
    for n, line in enumerate(lines, 1):
        envelope = Envelope.from_dict(json.loads(line))
        if envelope.payload_type != "application/vnd.in-toto+json":
            raise ValueError(f"line {n}: payload type {envelope.payload_type}")
        envelope.verify([key], 1)  # raises unless the signature holds
        statement = Statement.copy_from_pb(json_format.Parse(envelope.payload, statement_pb2.Statement()))
        statement.validate()
        if statement.pb.predicate_type == TEST_RESULT:
            result = json_format.ParseDict(json_format.MessageToDict(statement.pb.predicate), test_result_pb2.TestResult())
            if result.result not in ("PASSED", "WARNED", "FAILED"):
                raise ValueError(f"line {n}: result {result.result!r}")
            for s in statement.pb.subject:
                print(f"{result.result} {s.name} sha256:{s.digest['sha256']} ({len(result.passed_tests)} passed, {len(result.failed_tests)} failed)")
except Exception as e:  # noqa: BLE001 - any failure is a refusal
    print(f"NOT VERIFIED {bundle}: {type(e).__name__}: {e}")
    sys.exit(1)
print(f"VERIFIED {bundle}: {len(lines)} statements signed by {key.keyid}")
