/*
 * check_tokens.c - everything that decides who a request is, without a
 * server: JWTs (pinned HS256, signature, type, exp/iat/jti, alg "none" and
 * other algorithms made by libjwt itself), link tokens of the confirmation
 * and reset emails, base36 ids, cookie attributes, the Origin rule, the
 * rate-limit window arithmetic (and the counters in a real Redis), the
 * revoked-session set and email normalisation.
 */
#include "config.h"
#include "core/accounts/auth.h"
#include "core/config/conf.h"
#include "core/http/origin_check.h"
#include "core/accounts/ratelimit.h"
#include "core/runtime/redis.h"
#include "core/accounts/sessions.h"
#include "core/accounts/users.h"
#include "vftest.h"

#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KEY "0123456789abcdef0123456789abcdef-test-key"
#define OTHER_KEY "fedcba9876543210fedcba9876543210-other-key"

static vf_token_claims_t claims(vf_token_type_t type, int64_t now)
{
    vf_token_claims_t c = {.type = type, .user_id = 42, .iat = now, .exp = now + 300, .is_staff = 1,
                           .remember = 1};
    vf_token_new_id(c.sid);
    vf_token_new_id(c.jti);
    return c;
}

static char *issue(vf_token_type_t type, int64_t now)
{
    vf_token_claims_t c = claims(type, now);
    char *t = NULL;
    ck_assert_int_eq(vf_token_issue(KEY, &c, &t), 0);
    return t;
}

static int verify(const char *token, vf_token_type_t type, int64_t now)
{
    vf_token_claims_t out;
    return vf_token_verify(KEY, token, type, now, &out);
}

START_TEST(jwt_round_trip)
{
    int64_t now = time(NULL);
    vf_token_claims_t c = claims(VF_TOKEN_ACCESS, now), out;
    char *t = NULL;
    ck_assert_int_eq(vf_token_issue(KEY, &c, &t), 0);
    ck_assert_int_eq(vf_token_verify(KEY, t, VF_TOKEN_ACCESS, now, &out), 0);
    ck_assert_int_eq(out.user_id, 42);
    ck_assert_str_eq(out.sid, c.sid);
    ck_assert_str_eq(out.jti, c.jti);
    ck_assert_int_eq(out.exp, now + 300);
    ck_assert_int_eq(out.is_staff, 1);
    ck_assert_int_eq(strlen(out.jti), 32);
    /* The header libjwt wrote names HS256. */
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_decode(&j, t, (const unsigned char *)KEY, (int)strlen(KEY)), 0);
    ck_assert_int_eq(jwt_get_alg(j), JWT_ALG_HS256);
    ck_assert_str_eq(jwt_get_grant(j, "token_type"), "access");
    jwt_free(j);
    free(t);

    c = claims(VF_TOKEN_REFRESH, now);
    ck_assert_int_eq(vf_token_issue(KEY, &c, &t), 0);
    ck_assert_int_eq(vf_token_verify(KEY, t, VF_TOKEN_REFRESH, now, &out), 0);
    ck_assert_int_eq(out.remember, 1);
    free(t);
}
END_TEST

START_TEST(jwt_expired_and_future)
{
    int64_t now = time(NULL);
    char *t = issue(VF_TOKEN_ACCESS, now - 1000); /* exp = now - 700 */
    ck_assert_int_eq(verify(t, VF_TOKEN_ACCESS, now), VF_TOKEN_EXPIRED);
    free(t);
    t = issue(VF_TOKEN_ACCESS, now);
    ck_assert_int_eq(verify(t, VF_TOKEN_ACCESS, now + 299), 0);
    ck_assert_int_eq(verify(t, VF_TOKEN_ACCESS, now + 300), VF_TOKEN_EXPIRED);
    /* Issued in the future (beyond the clock skew): refused. */
    ck_assert_int_eq(verify(t, VF_TOKEN_ACCESS, now - 120), VF_TOKEN_EXPIRED);
    free(t);
}
END_TEST

START_TEST(jwt_wrong_type)
{
    int64_t now = time(NULL);
    char *a = issue(VF_TOKEN_ACCESS, now), *r = issue(VF_TOKEN_REFRESH, now);
    ck_assert_int_eq(verify(a, VF_TOKEN_REFRESH, now), VF_TOKEN_WRONG_TYPE);
    ck_assert_int_eq(verify(r, VF_TOKEN_ACCESS, now), VF_TOKEN_WRONG_TYPE);
    free(a);
    free(r);
}
END_TEST

START_TEST(jwt_tampered)
{
    int64_t now = time(NULL);
    char *t = issue(VF_TOKEN_ACCESS, now);
    char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
    /* One character of the payload. */
    char *p = strdup(t);
    size_t at = (size_t)(dot1 - t) + 5;
    p[at] = p[at] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(p, VF_TOKEN_ACCESS, now), VF_TOKEN_BAD_SIGNATURE);
    free(p);
    /* One character of the signature. */
    p = strdup(t);
    at = (size_t)(dot2 - t) + 3;
    p[at] = p[at] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(verify(p, VF_TOKEN_ACCESS, now), VF_TOKEN_BAD_SIGNATURE);
    free(p);
    /* No signature, a truncated one, garbage. */
    p = strndup(t, (size_t)(dot2 - t) + 1);
    ck_assert_int_lt(verify(p, VF_TOKEN_ACCESS, now), 0);
    free(p);
    p = strndup(t, strlen(t) - 2);
    ck_assert_int_lt(verify(p, VF_TOKEN_ACCESS, now), 0);
    free(p);
    ck_assert_int_eq(verify("", VF_TOKEN_ACCESS, now), VF_TOKEN_MALFORMED);
    ck_assert_int_eq(verify("a.b", VF_TOKEN_ACCESS, now), VF_TOKEN_MALFORMED);
    ck_assert_int_eq(verify("a.b.c.d", VF_TOKEN_ACCESS, now), VF_TOKEN_MALFORMED);
    ck_assert_int_lt(verify("!!!.???.***", VF_TOKEN_ACCESS, now), 0);
    /* Another key. */
    vf_token_claims_t out;
    ck_assert_int_eq(vf_token_verify(OTHER_KEY, t, VF_TOKEN_ACCESS, now, &out), VF_TOKEN_BAD_SIGNATURE);
    free(t);
}
END_TEST

static char *b64url(const char *s)
{
    size_t cap = sodium_base64_ENCODED_LEN(strlen(s), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)s, strlen(s), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

static char *payload_json(int64_t now)
{
    char *p = NULL;
    ck_assert_int_ge(asprintf(&p,
                              "{\"token_type\":\"access\",\"exp\":%lld,\"iat\":%lld,\"jti\":\"0123456789abcdef0123"
                              "456789abcdef\",\"user_id\":1,\"sid\":\"fedcba9876543210fedcba9876543210\","
                              "\"is_staff\":true}",
                              (long long)now + 300, (long long)now),
                     0);
    return p;
}

START_TEST(jwt_alg_none_refused)
{
    int64_t now = time(NULL);
    char *payload = payload_json(now);
    char *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}"), *b = b64url(payload);
    char *t = NULL;
    ck_assert_int_ge(asprintf(&t, "%s.%s.", h, b), 0);
    ck_assert_int_lt(verify(t, VF_TOKEN_ACCESS, now), 0);
    free(t);
    /* "None", "NONE" and a forged signature with alg none. */
    free(h);
    h = b64url("{\"alg\":\"None\"}");
    ck_assert_int_ge(asprintf(&t, "%s.%s.AAAA", h, b), 0);
    ck_assert_int_lt(verify(t, VF_TOKEN_ACCESS, now), 0);
    free(t);

    /* The same made by libjwt: its own decoder would accept it without a key. */
    jwt_t *j = NULL;
    ck_assert_int_eq(jwt_new(&j), 0);
    ck_assert_int_eq(jwt_add_grants_json(j, payload), 0);
    ck_assert_int_eq(jwt_set_alg(j, JWT_ALG_NONE, NULL, 0), 0);
    t = jwt_encode_str(j);
    jwt_free(j);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_lt(verify(t, VF_TOKEN_ACCESS, now), 0);
    free(t);
    free(h);
    free(b);
    free(payload);
}
END_TEST

START_TEST(jwt_other_algorithms_refused)
{
    int64_t now = time(NULL);
    char *payload = payload_json(now);
    jwt_alg_t algs[] = {JWT_ALG_HS384, JWT_ALG_HS512};
    for (size_t i = 0; i < 2; i++) {
        jwt_t *j = NULL;
        ck_assert_int_eq(jwt_new(&j), 0);
        ck_assert_int_eq(jwt_add_grants_json(j, payload), 0);
        ck_assert_int_eq(jwt_set_alg(j, algs[i], (const unsigned char *)KEY, (int)strlen(KEY)), 0);
        char *t = jwt_encode_str(j);
        jwt_free(j);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(verify(t, VF_TOKEN_ACCESS, now), VF_TOKEN_BAD_SIGNATURE);
        free(t);
    }
    /* The right signature under a header asking for more than HS256. */
    const char *headers[] = {"{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"alg\":\"hs256\"}",
                             "{\"alg\":\"HS256\",\"typ\":\"JWE\"}", "[\"HS256\"]"};
    for (size_t i = 0; i < 4; i++) {
        char *h = b64url(headers[i]), *b = b64url(payload), *signing = NULL;
        ck_assert_int_ge(asprintf(&signing, "%s.%s", h, b), 0);
        unsigned char mac[32];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)KEY, strlen(KEY));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
        crypto_auth_hmacsha256_final(&st, mac);
        char sig[64], *t = NULL;
        sodium_bin2base64(sig, sizeof sig, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        ck_assert_int_ge(asprintf(&t, "%s.%s", signing, sig), 0);
        ck_assert_msg(verify(t, VF_TOKEN_ACCESS, now) < 0, "header %s accepted", headers[i]);
        free(t);
        free(signing);
        free(h);
        free(b);
    }
    /* ... while the plain HS256 header with that same construction passes:
     * the refusals above are about the header, not the construction. */
    char *h = b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"), *b = b64url(payload), *signing = NULL;
    ck_assert_int_ge(asprintf(&signing, "%s.%s", h, b), 0);
    unsigned char mac[32];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)KEY, strlen(KEY));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, strlen(signing));
    crypto_auth_hmacsha256_final(&st, mac);
    char sig[64], *t = NULL;
    sodium_bin2base64(sig, sizeof sig, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    ck_assert_int_ge(asprintf(&t, "%s.%s", signing, sig), 0);
    ck_assert_int_eq(verify(t, VF_TOKEN_ACCESS, now), 0);
    free(t);
    free(signing);
    free(h);
    free(b);
    free(payload);
}
END_TEST

START_TEST(jwt_missing_claims)
{
    int64_t now = time(NULL);
    /* Each lacks one claim, or has it with the wrong type. */
    json_t *bodies[] = {
        json_pack("{s:s, s:I, s:I, s:i, s:s}", "token_type", "access", "exp", now + 300, "iat", now, "user_id", 1,
                  "sid", "s"),
        json_pack("{s:s, s:I, s:I, s:s, s:s}", "token_type", "access", "exp", now + 300, "iat", now, "jti", "j",
                  "sid", "s"),
        json_pack("{s:s, s:I, s:I, s:s, s:i}", "token_type", "access", "exp", now + 300, "iat", now, "jti", "j",
                  "user_id", 1),
        json_pack("{s:I, s:I, s:s, s:i, s:s}", "exp", now + 300, "iat", now, "jti", "j", "user_id", 1, "sid", "s"),
        json_pack("{s:s, s:s, s:I, s:s, s:i, s:s}", "token_type", "access", "exp", "9999999999", "iat", now, "jti",
                  "j", "user_id", 1, "sid", "s"),
        json_pack("{s:s, s:I, s:s, s:i, s:s}", "token_type", "access", "exp", now + 300, "jti", "j", "user_id", 1,
                  "sid", "s"),
        json_pack("{s:s, s:I, s:I, s:s, s:i, s:s}", "token_type", "access", "exp", now + 300, "iat", now, "jti",
                  "j", "user_id", 0, "sid", "s"),
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char *payload = json_dumps(bodies[i], JSON_COMPACT);
        jwt_t *j = NULL;
        ck_assert_int_eq(jwt_new(&j), 0);
        ck_assert_int_eq(jwt_add_grants_json(j, payload), 0);
        ck_assert_int_eq(jwt_set_alg(j, JWT_ALG_HS256, (const unsigned char *)KEY, (int)strlen(KEY)), 0);
        char *t = jwt_encode_str(j);
        jwt_free(j);
        ck_assert_msg(verify(t, VF_TOKEN_ACCESS, now) < 0, "accepted: %s", payload);
        free(t);
        free(payload);
        json_decref(bodies[i]);
    }
}
END_TEST

/* ------------------------------------------------------------ link tokens */

START_TEST(link_tokens)
{
    int64_t now = time(NULL);
    vf_link_state_t st = {7, "user@example.com", "$argon2id$v=19$m=65536,t=2,p=1$abc$def", 0};
    char tok[VF_LINK_TOKEN_SIZE];
    ck_assert_int_eq(vf_link_token_make(KEY, VF_LINK_CONFIRM, &st, now, tok), 0);
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, tok, now, 259200), 0);
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, tok, now + 259200, 259200), 0);
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, tok, now + 259201, 259200), VF_TOKEN_EXPIRED);
    /* For confirmation only, this user, this key. */
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_RESET, &st, tok, now, 3600), VF_TOKEN_BAD_SIGNATURE);
    vf_link_state_t other = st;
    other.user_id = 8;
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &other, tok, now, 259200), VF_TOKEN_BAD_SIGNATURE);
    ck_assert_int_eq(vf_link_token_check(OTHER_KEY, VF_LINK_CONFIRM, &st, tok, now, 259200),
                     VF_TOKEN_BAD_SIGNATURE);
    /* Single use: confirming, or changing the password, ends it. */
    other = st;
    other.confirmed = 1;
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &other, tok, now, 259200), VF_TOKEN_BAD_SIGNATURE);
    other = st;
    other.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$xyz$uvw";
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &other, tok, now, 259200), VF_TOKEN_BAD_SIGNATURE);
    other = st;
    other.email = "other@example.com";
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &other, tok, now, 259200), VF_TOKEN_BAD_SIGNATURE);
    /* Tampering with the time or the MAC. */
    char bad[VF_LINK_TOKEN_SIZE];
    snprintf(bad, sizeof bad, "%s", tok);
    bad[0] = bad[0] == 'z' ? 'y' : 'z';
    ck_assert_int_lt(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, bad, now, 259200), 0);
    snprintf(bad, sizeof bad, "%s", tok);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    ck_assert_int_lt(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, bad, now, 259200), 0);
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, "", now, 10), VF_TOKEN_MALFORMED);
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, "abc", now, 10), VF_TOKEN_MALFORMED);
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_CONFIRM, &st, "-abc", now, 10), VF_TOKEN_MALFORMED);
    /* Made in the future (a forged time would need the key anyway). */
    ck_assert_int_eq(vf_link_token_make(KEY, VF_LINK_RESET, &st, now + 3600, tok), 0);
    ck_assert_int_eq(vf_link_token_check(KEY, VF_LINK_RESET, &st, tok, now, 3600), VF_TOKEN_EXPIRED);
}
END_TEST

START_TEST(base36)
{
    char buf[16];
    vf_base36_encode(1, buf);
    ck_assert_str_eq(buf, "1");
    vf_base36_encode(35, buf);
    ck_assert_str_eq(buf, "z");
    vf_base36_encode(36, buf);
    ck_assert_str_eq(buf, "10");
    vf_base36_encode(INT64_MAX, buf);
    ck_assert_str_eq(buf, "1y2p0ij32e8e7");
    int64_t v = 0;
    ck_assert_int_eq(vf_base36_decode("1y2p0ij32e8e7", &v), 0);
    ck_assert_int_eq(v, INT64_MAX);
    ck_assert_int_eq(vf_base36_decode("1y2p0ij32e8e8", &v), -EINVAL);
    ck_assert_int_eq(vf_base36_decode("zzzzzzzzzzzzz", &v), -EINVAL);
    ck_assert_int_eq(vf_base36_decode("0", &v), -EINVAL);
    ck_assert_int_eq(vf_base36_decode("", &v), -EINVAL);
    ck_assert_int_eq(vf_base36_decode("A", &v), -EINVAL);
    ck_assert_int_eq(vf_base36_decode("1-", &v), -EINVAL);
    ck_assert_int_eq(vf_base36_decode("2s", &v), 0);
    ck_assert_int_eq(v, 100);
}
END_TEST

/* ---------------------------------------------------------------- cookies */

static vf_config_t *config(const char *text)
{
    char *errors = NULL;
    vf_config_t *cfg = vf_config_load_string(text, "test", &errors);
    ck_assert_msg(cfg != NULL, "config: %s", errors ? errors : "?");
    free(errors);
    return cfg;
}

START_TEST(cookies)
{
    vf_config_t *cfg = config("");
    char line[1024];
    ck_assert_int_eq(vf_cookie_format(line, sizeof line, cfg, "vf_access", "TOKEN", 300, 1700000000), 0);
    ck_assert_str_eq(line, "vf_access=TOKEN; Max-Age=300; Expires=Tue, 14 Nov 2023 22:18:20 GMT; Path=/; "
                           "HttpOnly; SameSite=Lax");
    ck_assert_int_eq(vf_cookie_format(line, sizeof line, cfg, "vf_refresh", "", 0, 1700000000), 0);
    ck_assert_str_eq(line, "vf_refresh=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; "
                           "SameSite=Lax");
    ck_assert_int_eq(vf_cookie_format(line, 20, cfg, "vf_refresh", "x", 1, 0), -ENOSPC);
    vf_config_free(&cfg);

    cfg = config("auth = { cookie_secure = true; cookie_samesite = \"None\"; cookie_domain = \"example.com\";"
                 " cookie_access = \"a\"; };");
    ck_assert_int_eq(vf_cookie_format(line, sizeof line, cfg, cfg->auth.cookie_access, "T", 604800, 1700000000),
                     0);
    ck_assert_str_eq(line, "a=T; Max-Age=604800; Expires=Tue, 21 Nov 2023 22:13:20 GMT; Path=/; HttpOnly; "
                           "SameSite=None; Secure; Domain=example.com");
    vf_config_free(&cfg);
}
END_TEST

/* ----------------------------------------------------------------- origin */

START_TEST(origin_rule)
{
    vf_config_t *cfg = config("server = { public_origin = \"https://api.example.com\";"
                              " cors_origins = [\"http://localhost:4200\", \"https://app.example.com\"]; };");
    ck_assert_int_eq(vf_origin_allowed(cfg, NULL, NULL), 1);
    ck_assert_int_eq(vf_origin_allowed(cfg, "http://localhost:4200", NULL), 1);
    ck_assert_int_eq(vf_origin_allowed(cfg, "https://app.example.com", "https://evil.example/x"), 1);
    ck_assert_int_eq(vf_origin_allowed(cfg, "https://api.example.com", NULL), 1);
    ck_assert_int_eq(vf_origin_allowed(cfg, "https://evil.example", NULL), 0);
    ck_assert_int_eq(vf_origin_allowed(cfg, "http://localhost:4201", NULL), 0);
    ck_assert_int_eq(vf_origin_allowed(cfg, "https://app.example.com.evil.example", NULL), 0);
    ck_assert_int_eq(vf_origin_allowed(cfg, "null", NULL), 0);
    /* The Origin decides even when a Referer says otherwise. */
    ck_assert_int_eq(vf_origin_allowed(cfg, "https://evil.example", "http://localhost:4200/"), 0);
    /* Without Origin: the Referer's origin. */
    ck_assert_int_eq(vf_origin_allowed(cfg, NULL, "http://localhost:4200/signup?x=1"), 1);
    ck_assert_int_eq(vf_origin_allowed(cfg, NULL, "https://api.example.com/admin/"), 1);
    ck_assert_int_eq(vf_origin_allowed(cfg, NULL, "http://localhost:4200"), 1);
    ck_assert_int_eq(vf_origin_allowed(cfg, NULL, "https://evil.example/http://localhost:4200/"), 0);
    ck_assert_int_eq(vf_origin_allowed(cfg, NULL, "http://localhost:4200.evil.example/"), 0);
    ck_assert_int_eq(vf_origin_allowed(cfg, NULL, "not a url"), 0);
    ck_assert_int_eq(vf_origin_allowed(cfg, "", ""), 1);
    vf_config_free(&cfg);
}
END_TEST

/* ------------------------------------------------------------ rate limits */

START_TEST(ratelimit_window_arithmetic)
{
    /* Nothing in the previous window, current full: wait for the window to
     * end, then for this window's weight to fade below the limit. */
    ck_assert_int_eq(vf_ratelimit_retry_after(0, 10, 10, 60, 0), 66);
    ck_assert_int_eq(vf_ratelimit_retry_after(0, 10, 10, 60, 59000), 7);
    /* The previous window full, none now: wait until its weight fades. */
    ck_assert_int_eq(vf_ratelimit_retry_after(10, 0, 10, 60, 0), 6);
    ck_assert_int_eq(vf_ratelimit_retry_after(10, 5, 10, 60, 0), 36);
    ck_assert_int_eq(vf_ratelimit_retry_after(1, 1, 1, 60, 30000), 90);
    ck_assert_int_ge(vf_ratelimit_retry_after(0, 1, 1, 1, 999), 1);
}
END_TEST

START_TEST(ratelimit_counts_in_redis)
{
    const char *url = vft_env_or_skip("VF_TEST_REDIS_URL");
    int port = atoi(strrchr(url, ':') + 1);
    char text[256];
    snprintf(text, sizeof text, "redis = { port = %d; prefix = \"vft-rl-%d:\"; };", port, (int)getpid());
    vf_config_t *cfg = config(text);
    vf_redis_t *r = vf_redis_new(cfg);
    ck_assert_ptr_nonnull(r);
    int64_t t0 = (int64_t)time(NULL) * 1000 / 60000 * 60000 + 1000; /* 1 s into a window */
    int retry = 0;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(vf_ratelimit_hit(r, "t", "ip:10.0.0.1", 3, 60, t0 + i, &retry), 1);
    ck_assert_int_eq(vf_ratelimit_hit(r, "t", "ip:10.0.0.1", 3, 60, t0 + 10, &retry), 0);
    ck_assert_int_eq(retry, 79); /* 59 s to the boundary, then 20 s for the 3 to weigh less than 2 */
    /* Another subject, another action: their own counters. */
    ck_assert_int_eq(vf_ratelimit_hit(r, "t", "ip:10.0.0.2", 3, 60, t0, &retry), 1);
    ck_assert_int_eq(vf_ratelimit_hit(r, "u", "ip:10.0.0.1", 3, 60, t0, &retry), 1);
    /* Refused hits are not counted: still 3 in this window. */
    ck_assert_int_eq(vf_ratelimit_hit(r, "t", "ip:10.0.0.1", 4, 60, t0 + 20, &retry), 1);
    /* The next window carries the previous one's weight. */
    ck_assert_int_eq(vf_ratelimit_hit(r, "t", "ip:10.0.0.1", 4, 60, t0 + 59000, &retry), 0);
    /* A limit of 0 means unlimited. */
    ck_assert_int_eq(vf_ratelimit_hit(r, "t", "ip:10.0.0.1", 0, 60, t0, &retry), 1);
    /* Keys hold no address. */
    redisReply *rep = vf_redis_cmd(r, "KEYS vft-rl-%d:*", (int)getpid());
    ck_assert_ptr_nonnull(rep);
    ck_assert_int_ge(rep->elements, 3);
    for (size_t i = 0; i < rep->elements; i++)
        ck_assert_ptr_null(strstr(rep->element[i]->str, "10.0.0"));
    for (size_t i = 0; i < rep->elements; i++)
        freeReplyObject(vf_redis_cmd(r, "DEL %s", rep->element[i]->str));
    freeReplyObject(rep);
    vf_redis_free(&r);
    vf_config_free(&cfg);
}
END_TEST

/* ---------------------------------------------------------- revoked set */

START_TEST(revoked_set)
{
    vf_revset_t *set = vf_revset_new();
    ck_assert_ptr_nonnull(set);
    char ids[2000][VF_TOKEN_ID_SIZE];
    for (int i = 0; i < 2000; i++) {
        vf_token_new_id(ids[i]);
        ck_assert_int_eq(vf_revset_add(set, ids[i], i < 1000 ? 100 : 200), 0);
    }
    for (int i = 0; i < 2000; i++)
        ck_assert_int_eq(vf_revset_contains(set, ids[i], 50), 1);
    ck_assert_int_eq(vf_revset_contains(set, ids[0], 101), 0);
    ck_assert_int_eq(vf_revset_contains(set, ids[1999], 200), 1);
    char unknown[VF_TOKEN_ID_SIZE];
    vf_token_new_id(unknown);
    ck_assert_int_eq(vf_revset_contains(set, unknown, 0), 0);
    ck_assert_uint_eq(vf_revset_prune(set, 150), 1000);
    ck_assert_int_eq(vf_revset_contains(set, ids[5], 0), 0);
    ck_assert_int_eq(vf_revset_contains(set, ids[1500], 150), 1);
    /* A later time extends an entry, an earlier one does not shorten it. */
    ck_assert_int_eq(vf_revset_add(set, ids[1500], 500), 0);
    ck_assert_int_eq(vf_revset_add(set, ids[1500], 10), 0);
    ck_assert_uint_eq(vf_revset_prune(set, 300), 1);
    ck_assert_int_eq(vf_revset_contains(set, ids[1500], 400), 1);
    ck_assert_int_eq(vf_revset_add(set, "", 10), -EINVAL);
    ck_assert_int_eq(vf_revset_add(set, "0123456789abcdef0123456789abcdef0", 10), -EINVAL);
    ck_assert_uint_eq(vf_revset_prune(set, 1000), 0);
    vf_revset_free(&set);
    ck_assert_ptr_null(set);
}
END_TEST

/* ------------------------------------------------------------------ email */

START_TEST(email_normalisation)
{
    char out[VF_EMAIL_SIZE];
    ck_assert_int_eq(vf_email_normalize("  Alice.Smith+Tag@Example.COM \n", out), 0);
    ck_assert_str_eq(out, "alice.smith+tag@example.com");
    ck_assert_int_eq(vf_email_normalize("a@b.de", out), 0);
    ck_assert_int_eq(vf_email_normalize("x@sub.domain-name.example.org", out), 0);
    ck_assert_int_eq(vf_email_normalize("x@xn--bcher-kva.xn--p1ai", out), 0);
    const char *bad[] = {"", "   ", "plain", "@example.com", "a@", "a@b", "a@b.c", "a@-b.com", "a@b-.com",
                         "a..b@c.de", ".a@c.de", "a.@c.de", "a b@c.de", "a@b..de", "a@b.d3", "a@b@c.de",
                         "a\r\nBcc: x@y.de@c.de", "\xc3\xa4@b.de", "a@b.de\r\nX: y", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(vf_email_normalize(bad[i], out) == -EINVAL, "'%s' accepted", bad[i]);
    ck_assert_int_eq(vf_email_normalize(NULL, out), -EINVAL);
    char longer[300];
    memset(longer, 'a', 250);
    snprintf(longer + 250, 50, "@b.de");
    ck_assert_int_eq(vf_email_normalize(longer, out), -EINVAL);
}
END_TEST

static Suite *tokens_suite(void)
{
    Suite *s = suite_create("tokens");
    TCase *jwt = tcase_create("jwt");
    tcase_add_test(jwt, jwt_round_trip);
    tcase_add_test(jwt, jwt_expired_and_future);
    tcase_add_test(jwt, jwt_wrong_type);
    tcase_add_test(jwt, jwt_tampered);
    tcase_add_test(jwt, jwt_alg_none_refused);
    tcase_add_test(jwt, jwt_other_algorithms_refused);
    tcase_add_test(jwt, jwt_missing_claims);
    suite_add_tcase(s, jwt);
    TCase *links = tcase_create("links");
    tcase_add_test(links, link_tokens);
    tcase_add_test(links, base36);
    tcase_add_test(links, email_normalisation);
    suite_add_tcase(s, links);
    TCase *http = tcase_create("http");
    tcase_add_test(http, cookies);
    tcase_add_test(http, origin_rule);
    tcase_add_test(http, ratelimit_window_arithmetic);
    tcase_add_test(http, ratelimit_counts_in_redis);
    tcase_add_test(http, revoked_set);
    suite_add_tcase(s, http);
    return s;
}

VFT_MAIN(tokens_suite)
