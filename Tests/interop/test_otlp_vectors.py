"""The OTLP golden vectors of Schema/testdata/otlp are what scripts/generate_otlp_vectors.py writes
today with the official opentelemetry-proto package (the Swift side: OTLPGoldenVectorTests)."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent


def test_otlp_vectors_are_current():
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "generate_otlp_vectors.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr

