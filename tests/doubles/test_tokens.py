"""Self-tests for the token helpers, checked with PyJWT the way a verifier would."""

import hashlib
import hmac

import jwt
import pytest

from tests.doubles import tokens
from tests.doubles.tokens import KeyPair

URL = "http://127.0.0.1:5555"
SECRET = "super-secret-jwt-token-with-at-least-32-characters"


@pytest.fixture(scope="module", params=["ES256", "RS256"])
def pair(request):
    return KeyPair(request.param)


def _verify(token, key, alg):
    return jwt.decode(token, key, algorithms=[alg], audience="authenticated", issuer=f"{URL}/auth/v1")


def test_good_tokens_verify(pair):
    claims = _verify(pair.mint("user-1", supabase_url=URL), jwt.PyJWK(pair.jwk()).key, pair.alg)
    assert claims["sub"] == "user-1" and claims["role"] == "authenticated"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(pair.mint("u", supabase_url=URL))["kid"] == pair.kid
    assert pair.jwk()["use"] == "sig" and pair.jwk()["alg"] == pair.alg
    assert _verify(tokens.mint_hs256(SECRET, "u", supabase_url=URL), SECRET, "HS256")["sub"] == "u"


def test_overrides_and_removal(pair):
    claims = jwt.decode(
        pair.mint("u", supabase_url=URL, role="service_role", exp=None), options={"verify_signature": False}
    )
    assert claims["role"] == "service_role" and "exp" not in claims


def test_bad_tokens_are_refused(pair):
    key = jwt.PyJWK(pair.jwk()).key
    cases = {
        tokens.forge_expired(pair, "u", supabase_url=URL): jwt.ExpiredSignatureError,
        tokens.forge_wrong_audience(pair, "u", supabase_url=URL): jwt.InvalidAudienceError,
        tokens.forge_wrong_issuer(pair, "u", supabase_url=URL): jwt.InvalidIssuerError,
        tokens.tamper_signature(pair.mint("u", supabase_url=URL)): jwt.InvalidSignatureError,
        tokens.tamper_claims(pair.mint("u", supabase_url=URL), sub="victim"): jwt.InvalidSignatureError,
        tokens.forge_alg_none("u", supabase_url=URL): jwt.InvalidAlgorithmError,
        tokens.forge_hs256_with_public_key(pair, "u", supabase_url=URL): jwt.InvalidAlgorithmError,
    }
    for token, error in cases.items():
        with pytest.raises(error):
            _verify(token, key, pair.alg)


def test_algorithm_confusion_token_is_a_valid_hmac_over_the_pem(pair):
    # A verifier that wrongly trusted the header's alg and used the PEM as an
    # HMAC secret would accept it; check the forgery is built correctly.
    token = tokens.forge_hs256_with_public_key(pair, "u", supabase_url=URL)
    header_b64, payload_b64, sig = token.split(".")
    expected = hmac.new(pair.public_pem, f"{header_b64}.{payload_b64}".encode(), hashlib.sha256).digest()
    assert tokens._b64url_decode(sig) == expected
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": pair.kid}
