/*
 * check_password.c - password hashing and rules: Argon2id round trips and
 * upgrades of weaker hashes, Django pbkdf2_sha256 hashes made by the real
 * python3-django, the rule messages, and the hashing pool (parallel, off the
 * caller's thread, bounded).
 */
#include "config.h"
#include "core/accounts/password.h"
#include "vftest.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A hash made by Django itself (Debian's python3-django). */
static char *django_hash(const char *password)
{
    char *out = NULL;
    int rc = vft_sh(&out,
                    "/usr/bin/python3 -c \"from django.conf import settings; settings.configure(); "
                    "from django.contrib.auth.hashers import make_password; print(make_password('%s'))\"",
                    password);
    ck_assert_msg(rc == 0 && out, "python3-django could not make a hash (apt-get install python3-django)");
    out[strcspn(out, "\n")] = '\0';
    return out;
}

START_TEST(argon2id_round_trip)
{
    char hash[VF_PASSWORD_HASH_SIZE];
    ck_assert_int_eq(vf_password_hash("correct horse battery", hash), 0);
    ck_assert_msg(strncmp(hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0, "unexpected parameters: %s", hash);
    int upgrade = -1;
    ck_assert_int_eq(vf_password_verify("correct horse battery", hash, &upgrade), 1);
    ck_assert_int_eq(upgrade, 0);
    ck_assert_int_eq(vf_password_verify("correct horse batterY", hash, &upgrade), 0);
    ck_assert_int_eq(vf_password_verify("", hash, &upgrade), 0);
    /* Salted: the same password twice gives two hashes. */
    char again[VF_PASSWORD_HASH_SIZE];
    ck_assert_int_eq(vf_password_hash("correct horse battery", again), 0);
    ck_assert_str_ne(hash, again);
    /* Unusable or foreign hashes never match. */
    ck_assert_int_eq(vf_password_verify("x", "!", &upgrade), 0);
    ck_assert_int_eq(vf_password_verify("x", "", &upgrade), 0);
    ck_assert_int_eq(vf_password_verify("x", "$argon2i$v=19$m=4096,t=3,p=1$AAAA$AAAA", &upgrade), 0);
    ck_assert_int_eq(vf_password_verify("x", NULL, &upgrade), 0);
}
END_TEST

START_TEST(weaker_argon2id_is_upgraded)
{
    ck_assert_int_ge(sodium_init(), 0);
    char weak[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(weak, "old params 123", 14, crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    int upgrade = 0;
    ck_assert_int_eq(vf_password_verify("old params 123", weak, &upgrade), 1);
    ck_assert_int_eq(upgrade, 1);
    ck_assert_int_eq(vf_password_verify("old params 124", weak, &upgrade), 0);
    ck_assert_int_eq(upgrade, 0);
}
END_TEST

START_TEST(django_pbkdf2_sha256)
{
    char *hash = django_hash("Django-Pass-42");
    ck_assert_msg(strncmp(hash, "pbkdf2_sha256$", 14) == 0, "not a pbkdf2_sha256 hash: %s", hash);
    int upgrade = 0;
    ck_assert_int_eq(vf_password_verify_django("Django-Pass-42", hash), 1);
    ck_assert_int_eq(vf_password_verify("Django-Pass-42", hash, &upgrade), 1);
    ck_assert_int_eq(upgrade, 1);
    ck_assert_int_eq(vf_password_verify("Django-Pass-43", hash, &upgrade), 0);
    ck_assert_int_eq(upgrade, 0);

    /* Any change to iterations, salt or digest breaks it. */
    char *t = strdup(hash);
    char *last = strrchr(t, '$');
    last[3] = last[3] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(vf_password_verify_django("Django-Pass-42", t), 0);
    free(t);
    char *p = strchr(hash, '$');
    char tampered[512];
    snprintf(tampered, sizeof tampered, "pbkdf2_sha256$1%s", p + 1);
    ck_assert_int_eq(vf_password_verify_django("Django-Pass-42", tampered), 0);
    ck_assert_int_eq(vf_password_verify_django("x", "pbkdf2_sha256$0$salt$AAAA"), 0);
    ck_assert_int_eq(vf_password_verify_django("x", "pbkdf2_sha256$999999999$salt$AAAA"), 0);
    ck_assert_int_eq(vf_password_verify_django("x", "pbkdf2_sha256$1000$$AAAA"), 0);
    ck_assert_int_eq(vf_password_verify_django("x", "pbkdf2_sha256$abc$salt$AAAA"), 0);
    ck_assert_int_eq(vf_password_verify_django("x", "pbkdf2_sha1$1000$salt$AAAA"), 0);
    free(hash);

    /* A non-ASCII password, as Django encodes it (UTF-8). */
    char *h2 = django_hash("P\xc3\xa4sswort-\xe2\x82\xac");
    ck_assert_int_eq(vf_password_verify_django("P\xc3\xa4sswort-\xe2\x82\xac", h2), 1);
    free(h2);
}
END_TEST

static void assert_rules(const char *password, const char *email, int min, const char *expected_json)
{
    json_t *got = vf_password_rule_errors(password, email, min);
    if (!expected_json) {
        ck_assert_msg(got == NULL, "'%s' should pass", password);
        return;
    }
    json_t *want = json_loads(expected_json, 0, NULL);
    ck_assert_ptr_nonnull(want);
    char *text = got ? json_dumps(got, JSON_COMPACT) : strdup("null");
    ck_assert_msg(got && json_equal(got, want), "'%s': got %s, want %s", password, text, expected_json);
    free(text);
    json_decref(got);
    json_decref(want);
}

/* Django's other hashers: hashes of "correct horse" made by Django 3.2's
 * make_password (argon2 with Django's parameters, bcrypt_sha256, md5) and by
 * argon2-cffi (argon2i, p=2), each verified, upgraded, and refused for
 * another password or a changed digest. */
START_TEST(django_other_hashers)
{
    static const char *const hashes[] = {
        "argon2$argon2id$v=19$m=102400,t=2,p=8$UGZDYjlkM0QzbUpVa2NTdWk4dXA4Sg$6tZwNI1xA9HbVtvNQDDlYw",
        "argon2$argon2i$v=19$m=1024,t=1,p=2$+wfq4wLY6TYEBte7Ol1Ixw$jl8U2BGobU4Fyrwgip+COA",
        "bcrypt_sha256$$2b$12$MH6YgvrZjcs44uaJL0NLyudQdpsekzSrdUfpIipgwdfyCb6GTbVuC",
        "md5$0sGR0cFco9dmeVsSKuBQds$532671ab1d7ebebcb0097847e971287c",
    };
    for (size_t i = 0; i < sizeof hashes / sizeof *hashes; i++) {
        int upgrade = 0;
        ck_assert_int_eq(vf_password_is_django(hashes[i]), 1);
        ck_assert_msg(vf_password_verify("correct horse", hashes[i], &upgrade) == 1, "not verified: %s", hashes[i]);
        ck_assert_int_eq(upgrade, 1);
        ck_assert_int_eq(vf_password_verify("correct horsE", hashes[i], &upgrade), 0);
        ck_assert_int_eq(upgrade, 0);
        char *t = strdup(hashes[i]);
        char *last = t + strlen(t) - 3;
        *last = *last == 'a' ? 'b' : 'a';
        ck_assert_msg(vf_password_verify("correct horse", t, &upgrade) == 0, "tampered accepted: %s", t);
        free(t);
    }
    int upgrade = 0;
    /* Parameters beyond the bounds are refused before any work. */
    ck_assert_int_eq(vf_password_verify("x", "argon2$argon2id$v=19$m=99999999,t=2,p=8$c2FsdHNhbHQ$AAAA", &upgrade), 0);
    ck_assert_int_eq(vf_password_verify("x", "bcrypt_sha256$$2b$31$MH6YgvrZjcs44uaJL0NLyudQdpsekzSrdUfpIipgwdfyCb6", &upgrade), 0);
    ck_assert_int_eq(vf_password_verify("x", "md5$salt$short", &upgrade), 0);
    ck_assert_int_eq(vf_password_is_django("!unusable"), 0);
}
END_TEST

START_TEST(rules)
{
    assert_rules("abc", "a@b.de", 8,
                 "[\"This password is too short. It must contain at least 8 characters.\"]");
    assert_rules("1234567", "a@b.de", 8,
                 "[\"This password is too short. It must contain at least 8 characters.\","
                 " \"This password is entirely numeric.\"]");
    assert_rules("12345678901", "a@b.de", 8, "[\"This password is entirely numeric.\"]");
    assert_rules("Someone@Example.com", "someone@example.com", 8,
                 "[\"The password is too similar to the email address.\"]");
    assert_rules("someone1", "someone1@example.com", 8,
                 "[\"The password is too similar to the email address.\"]");
    assert_rules("", "a@b.de", 1, "[\"This password is too short. It must contain at least 1 character.\"]");
    assert_rules("good password 1", "a@b.de", 8, NULL);
    assert_rules("1234567a", "a@b.de", 8, NULL);
    /* Characters, not bytes: eight umlauts are eight characters. */
    assert_rules("\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4", "a@b.de", 8, NULL);
    assert_rules("\xc3\xa4\xc3\xa4\xc3\xa4", "a@b.de", 4,
                 "[\"This password is too short. It must contain at least 4 characters.\"]");
    char *longpw = malloc(VF_PASSWORD_MAX_CHARS + 2);
    memset(longpw, 'x', VF_PASSWORD_MAX_CHARS + 1);
    longpw[VF_PASSWORD_MAX_CHARS + 1] = '\0';
    assert_rules(longpw, "a@b.de", 8, "[\"Ensure this field has no more than 1024 characters.\"]");
    free(longpw);
    ck_assert_uint_eq(vf_utf8_length("a\xc3\xa4\xe2\x82\xac\xf0\x9f\x98\x80"), 4);
}
END_TEST

/* ------------------------------------------------------------------ pool */

typedef struct tracker {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    int matched;
    pthread_t threads[64];
    int nthreads;
    int hold;           /* done() waits while set */
    int holding;
} tracker_t;

static tracker_t tr = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {0}, 0, 0, 0};

static void on_done(vf_pw_job_t *job)
{
    pthread_mutex_lock(&tr.lock);
    int seen = 0;
    for (int i = 0; i < tr.nthreads; i++)
        seen |= pthread_equal(tr.threads[i], pthread_self());
    if (!seen && tr.nthreads < 64)
        tr.threads[tr.nthreads++] = pthread_self();
    tr.holding++;
    pthread_cond_broadcast(&tr.cond);
    while (tr.hold)
        pthread_cond_wait(&tr.cond, &tr.lock);
    tr.holding--;
    tr.done++;
    tr.matched += job->matched;
    pthread_cond_broadcast(&tr.cond);
    pthread_mutex_unlock(&tr.lock);
    vf_pw_job_free(job);
}

static vf_pw_job_t *new_job(vf_pw_op_t op, const char *password, const char *stored)
{
    vf_pw_job_t *j = calloc(1, sizeof *j);
    j->op = op;
    j->password = strdup(password);
    j->stored = stored ? strdup(stored) : NULL;
    j->done = on_done;
    return j;
}

static void wait_done(int n)
{
    pthread_mutex_lock(&tr.lock);
    while (tr.done < n)
        pthread_cond_wait(&tr.cond, &tr.lock);
    pthread_mutex_unlock(&tr.lock);
}

START_TEST(pool_runs_off_the_caller_in_parallel)
{
    char hash[VF_PASSWORD_HASH_SIZE];
    ck_assert_int_eq(vf_password_hash("pool password", hash), 0);
    ck_assert_int_eq(vf_password_pool_start(2), 0);
    ck_assert_int_eq(vf_password_pool_start(5), 0); /* once only */

    /* One verification on this thread, as the yardstick: a busy machine
     * slows it and the submissions alike. */
    int upgrade = 0;
    double v0 = now_ms();
    ck_assert_int_eq(vf_password_verify("pool password", hash, &upgrade), 1);
    double one = now_ms() - v0;

    double t0 = now_ms();
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(vf_password_pool_submit(new_job(VF_PW_VERIFY, i % 2 ? "pool password" : "wrong", hash)),
                         0);
    double submitted = now_ms() - t0;
    /* Queuing eight verifications must cost far less than doing them (eight
     * times `one` on the caller, four with two threads). */
    ck_assert_msg(submitted < 2 * one, "submitting took %.1f ms (one verification %.1f ms): the caller was blocked",
                  submitted, one);
    wait_done(8);
    double total = now_ms() - t0;
    ck_assert_int_eq(tr.matched, 4);
    ck_assert_int_eq(tr.nthreads, 2);
    ck_assert_msg(!pthread_equal(tr.threads[0], pthread_self()), "ran on the caller's thread");

    /* Unknown users cost a verification too (against the dummy hash). */
    t0 = now_ms();
    ck_assert_int_eq(vf_password_pool_submit(new_job(VF_PW_VERIFY, "anything", NULL)), 0);
    wait_done(9);
    double unknown = now_ms() - t0;
    ck_assert_int_eq(tr.matched, 4);
    ck_assert_msg(unknown > total / 8 / 4, "unknown user answered in %.1f ms: no dummy verification", unknown);
    /* So do accounts without a usable password. */
    t0 = now_ms();
    ck_assert_int_eq(vf_password_pool_submit(new_job(VF_PW_VERIFY, "anything", "!")), 0);
    wait_done(10);
    double unusable = now_ms() - t0;
    ck_assert_int_eq(tr.matched, 4);
    ck_assert_msg(unusable > total / 8 / 4, "unusable hash answered in %.1f ms: no dummy verification", unusable);
    vf_password_pool_stop();
}
END_TEST

START_TEST(pool_is_bounded)
{
    /* Cheap jobs: a wrong password against a minimal-cost hash. */
    ck_assert_int_ge(sodium_init(), 0);
    char cheap[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(cheap, "x", 1, crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN), 0);
    ck_assert_int_eq(vf_password_pool_start(1), 0);
    pthread_mutex_lock(&tr.lock);
    tr.hold = 1;
    pthread_mutex_unlock(&tr.lock);
    /* The one thread takes a job and is held in its done callback. */
    ck_assert_int_eq(vf_password_pool_submit(new_job(VF_PW_VERIFY, "y", cheap)), 0);
    pthread_mutex_lock(&tr.lock);
    while (tr.holding < 1)
        pthread_cond_wait(&tr.cond, &tr.lock);
    pthread_mutex_unlock(&tr.lock);
    int queued = 0, rc = 0;
    vf_pw_job_t *extra = NULL;
    while (queued < 5000) {
        extra = new_job(VF_PW_VERIFY, "y", cheap);
        rc = vf_password_pool_submit(extra);
        if (rc != 0)
            break;
        queued++;
    }
    ck_assert_int_eq(rc, -EAGAIN);
    ck_assert_int_eq(queued, 1024);
    vf_pw_job_free(extra);
    pthread_mutex_lock(&tr.lock);
    tr.hold = 0;
    pthread_cond_broadcast(&tr.cond);
    pthread_mutex_unlock(&tr.lock);
    /* Stopping drains what was queued. */
    vf_password_pool_stop();
    ck_assert_int_eq(tr.done, 1025);
    vf_pw_job_t *late = new_job(VF_PW_HASH, "x", NULL);
    ck_assert_int_eq(vf_password_pool_submit(late), -ESHUTDOWN);
    vf_pw_job_free(late);
}
END_TEST

/* Keeps the finished job so that the test can read its results. */
static vf_pw_job_t *kept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kept_cond = PTHREAD_COND_INITIALIZER;

static void keep(vf_pw_job_t *job)
{
    pthread_mutex_lock(&kept_lock);
    kept = job;
    pthread_cond_signal(&kept_cond);
    pthread_mutex_unlock(&kept_lock);
}

START_TEST(pool_hash_and_upgrade)
{
    ck_assert_int_ge(sodium_init(), 0);
    char weak[crypto_pwhash_STRBYTES];
    ck_assert_int_eq(crypto_pwhash_str(weak, "upgrade me", 10, crypto_pwhash_OPSLIMIT_MIN,
                                       crypto_pwhash_MEMLIMIT_MIN),
                     0);
    ck_assert_int_eq(vf_password_pool_start(2), 0);
    vf_pw_job_t *j = calloc(1, sizeof *j);
    j->op = VF_PW_VERIFY;
    j->password = strdup("upgrade me");
    j->stored = strdup(weak);
    j->done = keep;
    ck_assert_int_eq(vf_password_pool_submit(j), 0);
    pthread_mutex_lock(&kept_lock);
    while (!kept)
        pthread_cond_wait(&kept_cond, &kept_lock);
    pthread_mutex_unlock(&kept_lock);
    ck_assert_int_eq(kept->matched, 1);
    ck_assert_int_eq(kept->upgraded, 1);
    ck_assert_ptr_null(kept->password); /* wiped before done */
    ck_assert_msg(strncmp(kept->new_hash, "$argon2id$v=19$m=65536,t=2,p=1$", 31) == 0, "%s", kept->new_hash);
    int up = 1;
    ck_assert_int_eq(vf_password_verify("upgrade me", kept->new_hash, &up), 1);
    ck_assert_int_eq(up, 0);
    vf_pw_job_free(kept);
    vf_password_pool_stop();
}
END_TEST

static Suite *password_suite(void)
{
    Suite *s = suite_create("password");
    TCase *tc = tcase_create("hashes");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, argon2id_round_trip);
    tcase_add_test(tc, weaker_argon2id_is_upgraded);
    tcase_add_test(tc, django_pbkdf2_sha256);
    tcase_add_test(tc, django_other_hashers);
    tcase_add_test(tc, rules);
    suite_add_tcase(s, tc);
    TCase *pool = tcase_create("pool");
    tcase_set_timeout(pool, 60);
    tcase_add_test(pool, pool_runs_off_the_caller_in_parallel);
    tcase_add_test(pool, pool_is_bounded);
    tcase_add_test(pool, pool_hash_and_upgrade);
    suite_add_tcase(s, pool);
    return s;
}

VFT_MAIN(password_suite)
