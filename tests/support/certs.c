/*
 * certs.c: test certificates with the OpenSSL API (see certs.h).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certs.h"

const char *
sup_cert_path(const char *dir, const char *name, const char *ext)
{
	static char ring[64][512];
	static unsigned next;
	char *p = ring[next++ % 64];

	snprintf(p, sizeof(ring[0]), "%s/%s.%s", dir, name, ext);
	return p;
}

static void
certs_write_key(EVP_PKEY *k, const char *path)
{
	mode_t old = umask(077);
	FILE *f = fopen(path, "w");

	umask(old);
	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) == 1);
	fclose(f);
	chmod(path, 0600);
}

static void
certs_write_crt(X509 *x, const char *path)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert(PEM_write_X509(f, x) == 1);
	fclose(f);
}

static void
certs_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert_msg(e != NULL, "extension %d=%s", nid, value);
	ck_assert(X509_add_ext(x, e, -1) == 1);
	X509_EXTENSION_free(e);
}

/* A certificate for KEY with CN, signed by IKEY (ISSUER NULL: itself). */
static X509 *
certs_make(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, int ca,
           int expired, const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name;

	ck_assert_ptr_nonnull(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x),
	                 (long)getpid() * 1000 + serial++);
	if (expired) {
		X509_gmtime_adj(X509_getm_notBefore(x), -2L * 86400);
		X509_gmtime_adj(X509_getm_notAfter(x), -1L * 86400);
	} else {
		X509_gmtime_adj(X509_getm_notBefore(x), -3600);
		X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400);
	}
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                           (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	if (ca) {
		certs_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
		certs_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		certs_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
		certs_ext(x, issuer, NID_ext_key_usage,
		          san ? "serverAuth" : "clientAuth");
	}
	if (san != NULL)
		certs_ext(x, issuer, NID_subject_alt_name, san);
	ck_assert(X509_sign(x, ikey, EVP_sha256()) > 0);
	return x;
}

static void
certs_load_ca(const char *dir, X509 **ca, EVP_PKEY **cakey)
{
	FILE *f;

	f = fopen(sup_cert_path(dir, "ca", "crt"), "r");
	ck_assert_ptr_nonnull(f);
	*ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	f = fopen(sup_cert_path(dir, "ca", "key"), "r");
	ck_assert_ptr_nonnull(f);
	*cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert(*ca != NULL && *cakey != NULL);
}

void
sup_certs(const char *dir, const char *ca_cn, const struct sup_cert *certs,
          size_t n)
{
	X509 *ca = NULL, *x;
	EVP_PKEY *cakey = NULL, *k;
	size_t i;

	mkdir(dir, 0700);
	if (access(sup_cert_path(dir, "ca", "crt"), R_OK) == 0) {
		certs_load_ca(dir, &ca, &cakey);
	} else {
		cakey = EVP_EC_gen("P-256");
		ck_assert_ptr_nonnull(cakey);
		ca = certs_make(cakey, ca_cn, NULL, cakey, 1, 0, NULL);
		certs_write_key(cakey, sup_cert_path(dir, "ca", "key"));
		certs_write_crt(ca, sup_cert_path(dir, "ca", "crt"));
	}
	for (i = 0; i < n; i++) {
		const struct sup_cert *c = &certs[i];

		k = EVP_EC_gen("P-256");
		ck_assert_ptr_nonnull(k);
		x = certs_make(k, c->cn ? c->cn : c->name, ca, cakey, 0,
		               c->expired, c->san);
		certs_write_key(k, sup_cert_path(dir, c->name, "key"));
		certs_write_crt(x, sup_cert_path(dir, c->name, "crt"));
		X509_free(x);
		EVP_PKEY_free(k);
	}
	X509_free(ca);
	EVP_PKEY_free(cakey);
}
