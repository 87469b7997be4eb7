"""pyHanko's verdict on a PAdES B-LTA seal, with revocation required.

usage: lta_check.py lta FILE ROOT.pem      the seal validates as PAdES-LTA: intact, valid and
                                           trusted, the document time-stamp over the DSS valid,
                                           revocation checked (CRL Distribution Points fetched
                                           where the DSS does not answer)
       lta_check.py revoked FILE ROOT.pem  validated now with revocation required, fetching the
                                           CRL from the holder's CRL Distribution Point: the seal
                                           is reported revoked

Prints one summary line and exits 0 when the expectation holds, 1 otherwise.
"""

import asyncio
import logging
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager


def main() -> int:
    # A revoked certificate is the expected outcome of one mode: no traceback for it.
    logging.disable(logging.ERROR)
    mode, path, root_path = sys.argv[1:4]
    root = load_cert_from_pemder(root_path)
    with open(path, "rb") as f:
        reader = PdfFileReader(f, strict=False)
        sigs = reader.embedded_regular_signatures
        if len(sigs) != 1:
            print(f"expected one seal, found {len(sigs)}")
            return 1
        ts = reader.embedded_timestamp_signatures
        if not ts:
            print("no document time-stamp")
            return 1
        sig = sigs[0]
        if mode == "lta":
            # EN 319 102-1 §5.6.3 (PAdES-LTA): the document time-stamp chain as evidence
            # record, revocation information required, fetched when the DSS has none.
            policy = CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=[root]),
                revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO),
            )
            spec = PdfSignatureValidationSpec(
                SignatureValidationSpec(
                    cert_validation_policy=policy,
                    revinfo_gathering_policy=RevocationInfoGatheringSpec(
                        online_fetching_rule=RevinfoOnlineFetchingRule.ALWAYS_FETCH
                    ),
                )
            )
            result = asyncio.run(ades_lta_validation(sig, spec))
            status = result.api_status
            print(
                f"LTA: {result.ades_subindic}, {status.summary() if status else None}, "
                f"oldest document time-stamp {result.oldest_evidence_record_timestamp}"
            )
            ok = result.ades_subindic == AdESPassed.OK and status is not None
            ok = ok and status.intact and status.valid and status.trusted
            ok = ok and result.oldest_evidence_record_timestamp is not None
            return 0 if ok else 1
        if mode == "revoked":
            vc = ValidationContext(
                trust_roots=[root], allow_fetching=True, revocation_mode="require"
            )
            status = validate_pdf_signature(sig, signer_validation_context=vc)
            print(f"now: {status.summary()}; revoked={status.revoked}")
            return 0 if status.intact and status.revoked and not status.bottom_line else 1
        print(f"unknown mode {mode}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
