/*
 * auth.c - see auth.h.
 *
 * libjwt 1.10 decodes a token whose header says "alg": "none" without any
 * signature check and compares HMACs with strcmp, so a token is checked here
 * before libjwt sees it: the header must name HS256 and the HMAC is compared
 * in constant time.  libjwt then parses and verifies it once more.
 */
#include "config.h"
#include "accounts/auth.h"
#include "accounts/password.h"
#include "accounts/sessions.h"
#include "http/cookie.h"
#include "util/log.h"

#include <jansson.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TOKEN_MAX_LEN 4096
/* Tolerated clock difference between the servers that issue and check. */
#define CLOCK_SKEW 60

/* --------------------------------------------------------------- helpers */

static void hmac_sha256(const unsigned char *key, size_t keylen, const void *msg, size_t len,
                        unsigned char out[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, msg, len);
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof st);
}

/* Decode one base64url segment [s, s+len) into out.  -1 unless the whole
 * segment decodes. */
static int b64url_decode(const char *s, size_t len, unsigned char *out, size_t cap, size_t *outlen)
{
    const char *end = NULL;
    if (sodium_base642bin(out, cap, s, len, NULL, outlen, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    return end == s + len ? 0 : -1;
}

void vf_token_new_id(char out[VF_TOKEN_ID_SIZE])
{
    unsigned char raw[16];
    vf_sodium_init();
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, VF_TOKEN_ID_SIZE, raw, sizeof raw);
}

/* ------------------------------------------------------------------- JWT */

int vf_token_issue(const char *key, const vf_token_claims_t *c, char **out)
{
    *out = NULL;
    jwt_t *jwt = NULL;
    int ret = -ENOMEM;
    if (jwt_new(&jwt) != 0)
        return -ENOMEM;
    int bad = 0;
    bad |= jwt_add_grant(jwt, "token_type", c->type == VF_TOKEN_ACCESS ? "access" : "refresh");
    bad |= jwt_add_grant_int(jwt, "exp", (long)c->exp);
    bad |= jwt_add_grant_int(jwt, "iat", (long)c->iat);
    bad |= jwt_add_grant(jwt, "jti", c->jti);
    bad |= jwt_add_grant_int(jwt, "user_id", (long)c->user_id);
    bad |= jwt_add_grant(jwt, "sid", c->sid);
    if (c->type == VF_TOKEN_ACCESS)
        bad |= jwt_add_grant_bool(jwt, "is_staff", c->is_staff);
    else
        bad |= jwt_add_grant_bool(jwt, "remember", c->remember);
    if (bad)
        goto out;
    ret = -EINVAL;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)key, (int)strlen(key)) != 0)
        goto out;
    ret = -ENOMEM;
    *out = jwt_encode_str(jwt);
    if (*out)
        ret = 0;
out:
    jwt_free(jwt);
    return ret;
}

/* The header must be a JSON object naming HS256 and nothing we would have
 * to understand ("crit"). */
static int header_pinned(const char *seg, size_t len)
{
    unsigned char buf[512];
    size_t n = 0;
    if (len > 600 || b64url_decode(seg, len, buf, sizeof buf, &n) != 0)
        return VF_TOKEN_MALFORMED;
    json_t *h = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    int ret = VF_TOKEN_MALFORMED;
    if (!json_is_object(h))
        goto out;
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *typ = json_string_value(json_object_get(h, "typ"));
    if (!alg || strcmp(alg, "HS256") != 0 || json_object_get(h, "crit") ||
        (json_object_get(h, "typ") && (!typ || strcasecmp(typ, "JWT") != 0))) {
        ret = VF_TOKEN_BAD_SIGNATURE;
        goto out;
    }
    ret = 0;
out:
    json_decref(h);
    return ret;
}

static int claim_id(const json_t *claims, const char *name, char out[VF_TOKEN_ID_SIZE])
{
    const char *v = json_string_value(json_object_get(claims, name));
    if (!v || !*v || strlen(v) >= VF_TOKEN_ID_SIZE)
        return -1;
    snprintf(out, VF_TOKEN_ID_SIZE, "%s", v);
    return 0;
}

static int read_claims(const json_t *claims, vf_token_type_t want, int64_t now, vf_token_claims_t *out)
{
    if (!json_is_object(claims))
        return VF_TOKEN_MALFORMED;
    const json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    const json_t *uid = json_object_get(claims, "user_id");
    const char *type = json_string_value(json_object_get(claims, "token_type"));
    if (!json_is_integer(exp) || !json_is_integer(iat) || !json_is_integer(uid) || !type ||
        claim_id(claims, "jti", out->jti) < 0 || claim_id(claims, "sid", out->sid) < 0 ||
        json_integer_value(uid) <= 0)
        return VF_TOKEN_MALFORMED;
    const char *want_name = want == VF_TOKEN_ACCESS ? "access" : "refresh";
    if (strcmp(type, want_name) != 0)
        return VF_TOKEN_WRONG_TYPE;
    out->type = want;
    out->exp = json_integer_value(exp);
    out->iat = json_integer_value(iat);
    out->user_id = json_integer_value(uid);
    out->is_staff = json_is_true(json_object_get(claims, "is_staff"));
    out->remember = json_is_true(json_object_get(claims, "remember"));
    if (out->exp <= now || out->iat > now + CLOCK_SKEW || out->iat > out->exp)
        return VF_TOKEN_EXPIRED;
    return 0;
}

int vf_token_verify(const char *key, const char *token, vf_token_type_t want, int64_t now,
                    vf_token_claims_t *out)
{
    memset(out, 0, sizeof *out);
    if (!key || !token)
        return VF_TOKEN_MALFORMED;
    size_t len = strlen(token);
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (len > TOKEN_MAX_LEN || !dot1 || !dot2 || strchr(dot2 + 1, '.') || dot1 == token || dot2 == dot1 + 1)
        return VF_TOKEN_MALFORMED;
    int ret = header_pinned(token, (size_t)(dot1 - token));
    if (ret < 0)
        return ret;

    unsigned char sig[64], mac[crypto_auth_hmacsha256_BYTES];
    size_t siglen = 0;
    const char *sigtext = dot2 + 1;
    if (b64url_decode(sigtext, strlen(sigtext), sig, sizeof sig, &siglen) != 0 || siglen != sizeof mac)
        return VF_TOKEN_BAD_SIGNATURE;
    hmac_sha256((const unsigned char *)key, strlen(key), token, (size_t)(dot2 - token), mac);
    if (sodium_memcmp(sig, mac, sizeof mac) != 0)
        return VF_TOKEN_BAD_SIGNATURE;

    jwt_t *jwt = NULL;
    char *grants = NULL;
    json_t *claims = NULL;
    ret = VF_TOKEN_BAD_SIGNATURE;
    if (jwt_decode(&jwt, token, (const unsigned char *)key, (int)strlen(key)) != 0 || !jwt ||
        jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto out;
    ret = VF_TOKEN_MALFORMED;
    grants = jwt_get_grants_json(jwt, NULL);
    claims = grants ? json_loads(grants, JSON_REJECT_DUPLICATES, NULL) : NULL;
    ret = read_claims(claims, want, now, out);
out:
    json_decref(claims);
    free(grants);
    jwt_free(jwt);
    return ret;
}

/* ------------------------------------------------------------- link tokens */

void vf_base36_encode(int64_t v, char out[16])
{
    char tmp[16];
    int n = 0;
    uint64_t u = v > 0 ? (uint64_t)v : 0;
    do {
        tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % 36];
        u /= 36;
    } while (u && n < 15);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

int vf_base36_decode(const char *s, int64_t *out)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 13)
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d;
        if (s[i] >= '0' && s[i] <= '9')
            d = s[i] - '0';
        else if (s[i] >= 'a' && s[i] <= 'z')
            d = s[i] - 'a' + 10;
        else
            return -EINVAL;
        /* 13 base36 digits can exceed int64. */
        if (v > ((uint64_t)INT64_MAX - (uint64_t)d) / 36)
            return -EINVAL;
        v = v * 36 + (uint64_t)d;
    }
    if (v == 0)
        return -EINVAL;
    *out = (int64_t)v;
    return 0;
}

static int link_mac(const char *key, vf_link_purpose_t purpose, const vf_link_state_t *st, const char *ts36,
                    unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
    /* A key of its own, so that no link token can ever pass as a JWT
     * signature or the other way round. */
    static const char label[] = "videoflix link token v1";
    unsigned char link_key[crypto_auth_hmacsha256_BYTES];
    hmac_sha256((const unsigned char *)key, strlen(key), label, sizeof label - 1, link_key);
    char *msg = NULL;
    int n = asprintf(&msg, "%s\n%lld\n%s\n%s\n%s\n%d", purpose == VF_LINK_CONFIRM ? "confirm" : "reset",
                     (long long)st->user_id, ts36, st->email ? st->email : "",
                     st->password_hash ? st->password_hash : "", st->confirmed ? 1 : 0);
    if (n < 0) {
        sodium_memzero(link_key, sizeof link_key);
        return -ENOMEM;
    }
    hmac_sha256(link_key, sizeof link_key, msg, (size_t)n, mac);
    sodium_memzero(link_key, sizeof link_key);
    sodium_memzero(msg, (size_t)n);
    free(msg);
    return 0;
}

int vf_link_token_make(const char *key, vf_link_purpose_t purpose, const vf_link_state_t *st, int64_t now,
                       char out[VF_LINK_TOKEN_SIZE])
{
    char ts36[16];
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    vf_base36_encode(now, ts36);
    int ret = link_mac(key, purpose, st, ts36, mac);
    if (ret < 0)
        return ret;
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(out, VF_LINK_TOKEN_SIZE, "%s-%s", ts36, b64);
    return 0;
}

int vf_link_token_check(const char *key, vf_link_purpose_t purpose, const vf_link_state_t *st,
                        const char *token, int64_t now, int ttl)
{
    if (!key || !token || strlen(token) >= VF_LINK_TOKEN_SIZE)
        return VF_TOKEN_MALFORMED;
    const char *dash = strchr(token, '-');
    if (!dash || dash == token || dash - token > 13)
        return VF_TOKEN_MALFORMED;
    char ts36[16];
    memcpy(ts36, token, (size_t)(dash - token));
    ts36[dash - token] = '\0';
    int64_t ts;
    if (vf_base36_decode(ts36, &ts) < 0)
        return VF_TOKEN_MALFORMED;
    unsigned char given[64], mac[crypto_auth_hmacsha256_BYTES];
    size_t glen = 0;
    if (b64url_decode(dash + 1, strlen(dash + 1), given, sizeof given, &glen) != 0 || glen != sizeof mac)
        return VF_TOKEN_MALFORMED;
    int ret = link_mac(key, purpose, st, ts36, mac);
    if (ret < 0)
        return ret;
    if (sodium_memcmp(given, mac, sizeof mac) != 0)
        return VF_TOKEN_BAD_SIGNATURE;
    if (ts > now + CLOCK_SKEW || now - ts > ttl)
        return VF_TOKEN_EXPIRED;
    return 0;
}

/* ---------------------------------------------------------------- cookies */

int vf_cookie_format(char *buf, size_t len, const vf_config_t *cfg, const char *name, const char *value,
                     int max_age, int64_t now)
{
    char expires[64];
    time_t when = max_age > 0 ? (time_t)(now + max_age) : 0;
    struct tm tm;
    if (!gmtime_r(&when, &tm) || strftime(expires, sizeof expires, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
        return -EINVAL;
    const char *domain = cfg->auth.cookie_domain;
    int n = snprintf(buf, len, "%s=%s; Max-Age=%d; Expires=%s; Path=/; HttpOnly; SameSite=%s%s%s%s", name,
                     value, max_age > 0 ? max_age : 0, expires, cfg->auth.cookie_samesite,
                     cfg->auth.cookie_secure ? "; Secure" : "", domain && *domain ? "; Domain=" : "",
                     domain && *domain ? domain : "");
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

static void set_cookie(vf_req_t *r, const char *name, const char *value, int max_age)
{
    char line[TOKEN_MAX_LEN + 512];
    if (vf_cookie_format(line, sizeof line, r->ctx->app->cfg, name, value, max_age, (int64_t)time(NULL)) == 0)
        vf_reply_header(r, "Set-Cookie", line);
    sodium_memzero(line, sizeof line);
}

void vf_auth_set_cookies(vf_req_t *r, const char *access, const char *refresh, int refresh_max_age)
{
    const vf_config_t *cfg = r->ctx->app->cfg;
    set_cookie(r, cfg->auth.cookie_access, access, cfg->auth.access_ttl);
    set_cookie(r, cfg->auth.cookie_refresh, refresh, refresh_max_age);
}

void vf_auth_clear_cookies(vf_req_t *r)
{
    const vf_config_t *cfg = r->ctx->app->cfg;
    set_cookie(r, cfg->auth.cookie_access, "", 0);
    set_cookie(r, cfg->auth.cookie_refresh, "", 0);
}

/* ------------------------------------------------------------ requests */

const char *vf_auth_key(vf_req_t *r)
{
    const char *key = r->ctx->app->cfg->auth.secret_key;
    if (key && strlen(key) >= 32)
        return key;
    static int complained;
    if (!__atomic_exchange_n(&complained, 1, __ATOMIC_RELAXED))
        vf_error("auth: auth.secret_key is not set: nobody can log in (set it, or secret_key_env / "
                 "secret_key_file)");
    vf_reply_msg(r, 500, "detail", "Authentication is not configured on this server.");
    return NULL;
}

void vf_auth_reply_401(vf_req_t *r, int invalid)
{
    vf_reply_header(r, "WWW-Authenticate", "Bearer realm=\"api\"");
    if (invalid)
        vf_reply_json(r, 401, json_pack("{s:s, s:s}", "detail", "Given token not valid for any token type",
                                        "code", "token_not_valid"));
    else
        vf_reply_msg(r, 401, "detail", "Authentication credentials were not provided.");
}

/* The access token: "Authorization: Bearer" first (API tools), else the
 * access cookie.  malloc()ed, or NULL. */
static char *access_token(const vf_config_t *cfg, const char *authorization, const char *cookie_header)
{
    const char *h = authorization;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        if (*t)
            return strdup(t);
    }
    char *c = vf_cookie_value(cookie_header, cfg->auth.cookie_access);
    if (c && !*c) {
        free(c);
        c = NULL;
    }
    return c;
}

static char *request_token(vf_req_t *r)
{
    return access_token(r->ctx->app->cfg, vf_req_header(r, "Authorization"), vf_req_header(r, "Cookie"));
}

/* Access tokens this loop thread has verified.  The same cookie arrives with
 * every request of a session, and a full verification costs two HMACs and
 * two JSON parses; a hit still checks expiry here and revocation below.
 * Entries are inline (no heap), so a thread's exit leaves nothing behind. */
#define VERIFIED_SLOTS 64
#define VERIFIED_TOKEN_MAX 600
typedef struct verified_token {
    size_t len;
    char token[VERIFIED_TOKEN_MAX];
    vf_token_claims_t claims;
} verified_token_t;
static __thread verified_token_t verified[VERIFIED_SLOTS];

static verified_token_t *verified_slot(const char *token, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = len > 32 ? len - 32 : 0; i < len; i++) /* the signature's end */
        h = (h ^ (unsigned char)token[i]) * 16777619u;
    return &verified[h % VERIFIED_SLOTS];
}

static int verify_access(const char *key, const char *token, int64_t now, vf_token_claims_t *c)
{
    size_t len = strlen(token);
    verified_token_t *slot = len < VERIFIED_TOKEN_MAX ? verified_slot(token, len) : NULL;
    if (slot && slot->len == len && memcmp(slot->token, token, len) == 0) {
        if (slot->claims.exp <= now)
            return VF_TOKEN_EXPIRED;
        *c = slot->claims;
        return 0;
    }
    int rc = vf_token_verify(key, token, VF_TOKEN_ACCESS, now, c);
    if (rc == 0 && slot) {
        memcpy(slot->token, token, len);
        slot->len = len;
        slot->claims = *c;
    }
    return rc;
}

int vf_auth_require(vf_req_t *r)
{
    char *token = request_token(r);
    if (!token) {
        vf_auth_reply_401(r, 0);
        return -1;
    }
    const char *key = vf_auth_key(r);
    if (!key) {
        free(token);
        return -1;
    }
    vf_token_claims_t c;
    int rc = verify_access(key, token, (int64_t)time(NULL), &c);
    sodium_memzero(token, strlen(token));
    free(token);
    if (rc == 0 && vf_sessions_is_revoked(r->ctx, c.sid) != 0)
        rc = -EACCES;
    if (rc < 0) {
        vf_auth_reply_401(r, 1);
        return -1;
    }
    r->user_id = c.user_id;
    r->user_is_staff = c.is_staff;
    snprintf(r->session_id, sizeof r->session_id, "%s", c.sid);
    return 0;
}

/* The claims of a valid, unexpired access token in these headers: 0, or
 * <0 (none, invalid, or no key configured).  Replies nothing. */
static int token_claims(const vf_config_t *cfg, const char *authorization, const char *cookie_header,
                        vf_token_claims_t *c)
{
    const char *key = cfg->auth.secret_key;
    char *token = key && strlen(key) >= 32 ? access_token(cfg, authorization, cookie_header) : NULL;
    if (!token)
        return -ENOENT;
    int rc = verify_access(key, token, (int64_t)time(NULL), c);
    sodium_memzero(token, strlen(token));
    free(token);
    return rc;
}

int vf_auth_staff_token(const vf_config_t *cfg, const char *authorization, const char *cookie_header)
{
    vf_token_claims_t c;
    return token_claims(cfg, authorization, cookie_header, &c) == 0 && c.is_staff;
}

int64_t vf_auth_access_expires(vf_req_t *r)
{
    vf_token_claims_t c;
    return token_claims(r->ctx->app->cfg, vf_req_header(r, "Authorization"), vf_req_header(r, "Cookie"), &c) == 0
               ? c.exp
               : 0;
}

int vf_auth_require_staff(vf_req_t *r)
{
    if (vf_auth_require(r) < 0)
        return -1;
    if (!r->user_is_staff) {
        vf_reply_msg(r, 403, "detail", "You do not have permission to perform this action.");
        return -1;
    }
    return 0;
}
