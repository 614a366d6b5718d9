/*
 * fuzz_jwt.c - the tokens accounts/auth.c accepts from cookies, the
 * Authorization header and the confirmation/reset links, verified with a
 * fixed key.  The first input byte picks what the rest is:
 *   0: a whole token, as a client sends it;
 *   1: "header.payload", signed here with the key, so the fuzzer reaches
 *      the parsing that follows a good signature;
 *   2: the claims JSON, base64url-encoded under an HS256 header and signed;
 *   3: a link token (and a base36 user id).
 * Checks: a token accepted has the type asked for, a positive user, a
 * session and token id, and is valid now.
 */
#include "config.h"
#include "fuzz.h"

#include <sodium.h>

#include "accounts/auth.h"
#include "accounts/password.h"
#include "util/log.h"

#define KEY "videoflix fuzzing key, not a secret: 0123456789abcdef"
#define NOW INT64_C(1767225600) /* 2026-01-01 */

static const vf_link_state_t link_user = {42, "user@example.com", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", 1};

/* token = text + "." + base64url(HMAC-SHA256(KEY, text)), malloc()ed. */
static char *signed_token(const char *text)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)KEY, strlen(KEY));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)text, strlen(text));
    crypto_auth_hmacsha256_final(&st, mac);
    char sig[sodium_base64_ENCODED_LEN(sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(sig, sizeof sig, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t len = strlen(text) + 1 + strlen(sig) + 1;
    char *token = malloc(len);
    FUZZ_CHECK(token != NULL);
    snprintf(token, len, "%s.%s", text, sig);
    return token;
}

static char *b64url(const uint8_t *data, size_t size)
{
    size_t len = sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(len);
    FUZZ_CHECK(out != NULL);
    sodium_bin2base64(out, len, data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static void verify_both(const char *token)
{
    for (int t = VF_TOKEN_ACCESS; t <= VF_TOKEN_REFRESH; t++) {
        vf_token_claims_t c;
        int rc = vf_token_verify(KEY, token, (vf_token_type_t)t, NOW, &c);
        if (rc != 0) {
            FUZZ_CHECK(rc == VF_TOKEN_MALFORMED || rc == VF_TOKEN_BAD_SIGNATURE || rc == VF_TOKEN_EXPIRED ||
                       rc == VF_TOKEN_WRONG_TYPE);
            continue;
        }
        FUZZ_CHECK(c.type == (vf_token_type_t)t && c.user_id > 0 && c.sid[0] && c.jti[0]);
        FUZZ_CHECK(strlen(c.sid) < VF_TOKEN_ID_SIZE && strlen(c.jti) < VF_TOKEN_ID_SIZE);
        FUZZ_CHECK(c.exp > NOW && c.iat <= c.exp && c.iat <= NOW + 60);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    vf_log_set_level(VF_LOG_ERROR);
    FUZZ_CHECK(vf_sodium_init() == 0);
    /* The harness's own key and clock accept what the server issues. */
    vf_token_claims_t c = {.type = VF_TOKEN_ACCESS, .user_id = 7, .iat = NOW, .exp = NOW + 300, .is_staff = 1};
    snprintf(c.sid, sizeof c.sid, "%s", "0123456789abcdef0123456789abcdef");
    snprintf(c.jti, sizeof c.jti, "%s", "fedcba9876543210fedcba9876543210");
    char *token = NULL;
    vf_token_claims_t back;
    FUZZ_CHECK(vf_token_issue(KEY, &c, &token) == 0);
    FUZZ_CHECK(vf_token_verify(KEY, token, VF_TOKEN_ACCESS, NOW, &back) == 0 && back.is_staff == 1);
    free(token);
    char link[VF_LINK_TOKEN_SIZE];
    FUZZ_CHECK(vf_link_token_make(KEY, VF_LINK_RESET, &link_user, NOW, link) == 0);
    FUZZ_CHECK(vf_link_token_check(KEY, VF_LINK_RESET, &link_user, link, NOW, 3600) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 6000)
        return 0;
    char *text = fuzz_string(data + 1, size - 1);
    switch (data[0] & 3) {
    case 0:
        verify_both(text);
        break;
    case 1: {
        char *token = signed_token(text);
        verify_both(token);
        free(token);
        break;
    }
    case 2: {
        static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        char *h = b64url((const uint8_t *)header, sizeof header - 1);
        char *p = b64url(data + 1, size - 1);
        size_t len = strlen(h) + strlen(p) + 2;
        char *unsigned_part = malloc(len);
        FUZZ_CHECK(unsigned_part != NULL);
        snprintf(unsigned_part, len, "%s.%s", h, p);
        char *token = signed_token(unsigned_part);
        verify_both(token);
        free(token);
        free(unsigned_part);
        free(p);
        free(h);
        break;
    }
    default: {
        for (int purpose = VF_LINK_CONFIRM; purpose <= VF_LINK_RESET; purpose++) {
            int rc = vf_link_token_check(KEY, (vf_link_purpose_t)purpose, &link_user, text, NOW, 3600);
            FUZZ_CHECK(rc != 0); /* no input forges the key's HMAC */
        }
        int64_t id = 0;
        if (vf_base36_decode(text, &id) == 0) {
            char again[16];
            FUZZ_CHECK(id > 0);
            vf_base36_encode(id, again);
            /* Leading zeros are the only other spelling of a number. */
            const char *digits = text;
            while (*digits == '0')
                digits++;
            FUZZ_CHECK(strcmp(again, digits) == 0);
        }
        break;
    }
    }
    free(text);
    return 0;
}
