/*
 * Optional C accelerator of the two readers a verifier runs on every QR scan
 * (docs/format.md §4, §5): the decimal text form to bytes, and the claims map to its fields.
 *
 * Why C: a scan is parsed, then one Ed25519 signature is checked. In Python, turning 285
 * decimal digits into 117 bytes and reading the claims cost ~9 us against ~42 us for the
 * signature; here they cost ~0.6 us (docs/benchmarks.md, "verifier").
 *
 * Both functions only ever *accept*: for any input that is not exactly what the format
 * writes they return None, and the Python reader in text.py / claims.py then reads the same
 * input and words the error. So this file decides nothing the Python readers do not also
 * decide, and tests/test_credential_speedups.py holds the two to the same answers on
 * generated and mutated inputs. Without a C compiler the package installs without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Decimal form: groups of 7 bytes as exactly 17 digits; a final group of k bytes takes the
 * fewest digits that hold 256**k - 1 (text.py). Indexed by a group's digit count: its bytes. */
static const signed char BYTES_FOR_DIGITS[18] = {-1, -1, -1, 1, -1, 2, -1, -1, 3, -1, 4, -1, -1, 5, -1, 6, -1, 7};
enum { GROUP_DIGITS = 17, GROUP_BYTES = 7 };

static PyObject *
decimal_to_bytes(PyObject *Py_UNUSED(module), PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "decimal_to_bytes() takes a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text)) {
        Py_RETURN_NONE;
    }
    const Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    const unsigned char *digit = PyUnicode_1BYTE_DATA(text);
    const Py_ssize_t full = length / GROUP_DIGITS;
    const int rest = (int)(length % GROUP_DIGITS);
    const int tail = rest ? BYTES_FOR_DIGITS[rest] : 0;
    if (length == 0 || tail < 0) {
        Py_RETURN_NONE;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, full * GROUP_BYTES + tail);
    if (out == NULL) {
        return NULL;
    }
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t group = 0; group <= full; group++) {
        const int digits = group < full ? GROUP_DIGITS : rest;
        const int bytes = group < full ? GROUP_BYTES : tail;
        uint64_t value = 0; /* at most 10**17 - 1 < 2**64 */
        for (int i = 0; i < digits; i++) {
            const unsigned int d = (unsigned int)*digit++ - '0';
            if (d > 9) {
                goto refuse;
            }
            value = value * 10 + d;
        }
        if (value >> (8 * bytes)) { /* a group out of range: no byte string writes it */
            goto refuse;
        }
        for (int i = bytes - 1; i >= 0; i--) {
            o[i] = (unsigned char)value;
            value >>= 8;
        }
        o += bytes;
    }
    return out;
refuse:
    Py_DECREF(out);
    Py_RETURN_NONE;
}

/* One CBOR head of the given major type in its shortest form (RFC 8949 §4.2.1), or 0. */
static int
read_head(const unsigned char **at, const unsigned char *end, unsigned int major, uint64_t *value)
{
    const unsigned char *p = *at;
    if (p >= end || (unsigned int)(*p >> 5) != major) {
        return 0;
    }
    const unsigned int info = *p++ & 0x1f;
    if (info < 24) {
        *value = info;
        *at = p;
        return 1;
    }
    static const int sizes[4] = {1, 2, 4, 8};
    static const uint64_t smallest[4] = {24, 0x100, 0x10000, 0x100000000ULL};
    if (info > 27 || end - p < sizes[info - 24]) {
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < sizes[info - 24]; i++) {
        v = (v << 8) | p[i];
    }
    if (v < smallest[info - 24]) {
        return 0;
    }
    *value = v;
    *at = p + sizes[info - 24];
    return 1;
}

/* cnf (8) => {1: {1: 1 (OKP), -1: 6 (Ed25519), -2: h'<32 bytes>'}}, up to the key (claims.py). */
static const unsigned char CNF_PREFIX[11] = {0x08, 0xa1, 0x01, 0xa3, 0x01, 0x01, 0x20, 0x06, 0x21, 0x58, 0x20};
enum { HOLDER_KEY_SIZE = 32, REQUIRED_CLAIMS = 9, KEY_TYPE = 0x20, KEY_DISPLAY_NAME = 0x25, KEY_CARD_UID = 0x29 };

/*
 * The fields of a claims map written exactly as claims._encode_claims writes it: the map
 * head, cnf (optional, first: key 8 sorts before the negative keys), then the keys -1 … -9
 * (bytes 0x20 … 0x28) in that order, each an unsigned integer in its shortest head except
 * -6, a UTF-8 text; then card_uid (-10, 0x29, a byte string, optional); nothing after.
 * Appends (type, issuer_code, serial, archive_id, enterprise_id, display_name, categories,
 * issued_day, expires_day, card_uid | None, holder_key | None) to `out` from `at`; 0 if the
 * bytes are anything else. Ranges (known type, category bits, dates, issuer code…) are the
 * Python side's to check.
 */
static int
read_claims(const unsigned char *p, const unsigned char *const end, PyObject *out, Py_ssize_t at)
{
    const unsigned char *holder_key = NULL, *card_uid = NULL, *name = NULL;
    uint64_t count, value[REQUIRED_CLAIMS], name_size = 0, card_uid_size = 0;
    if (!read_head(&p, end, 5, &count)) {
        return 0;
    }
    if (end - p >= (Py_ssize_t)sizeof CNF_PREFIX + HOLDER_KEY_SIZE && memcmp(p, CNF_PREFIX, sizeof CNF_PREFIX) == 0) {
        holder_key = p + sizeof CNF_PREFIX;
        p = holder_key + HOLDER_KEY_SIZE;
    }
    for (int claim = 0; claim < REQUIRED_CLAIMS; claim++) {
        if (p >= end || *p++ != KEY_TYPE + claim) {
            return 0;
        }
        if (KEY_TYPE + claim == KEY_DISPLAY_NAME) {
            if (!read_head(&p, end, 3, &name_size) || (uint64_t)(end - p) < name_size) {
                return 0;
            }
            name = p;
            p += name_size;
            value[claim] = 0;
        }
        /* issuer_code is always written with a 4-byte head, as claims._encode_claims writes it
         * (110000 … 829999 need one; a smaller value is then refused by its range check). */
        else if (claim == 1) {
            if (end - p < 5 || *p != 0x1a) {
                return 0;
            }
            value[claim] = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 8 | p[4];
            p += 5;
        }
        /* type is written in the head byte (1 or 2): any other head is not ours. */
        else if (p >= end || (claim == 0 && *p >= 24) || !read_head(&p, end, 0, &value[claim])) {
            return 0;
        }
    }
    if (p < end) {
        if (*p++ != KEY_CARD_UID || !read_head(&p, end, 2, &card_uid_size) || (uint64_t)(end - p) != card_uid_size) {
            return 0;
        }
        card_uid = p;
    }
    if (count != (uint64_t)(REQUIRED_CLAIMS + (holder_key != NULL) + (card_uid != NULL))) {
        return 0;
    }
    PyObject *display_name = PyUnicode_DecodeUTF8((const char *)name, (Py_ssize_t)name_size, "strict");
    if (display_name == NULL) {
        PyErr_Clear(); /* not UTF-8: the Python reader says so */
        return 0;
    }
    PyTuple_SET_ITEM(out, at + 5, display_name);
    for (int claim = 0; claim < REQUIRED_CLAIMS; claim++) {
        if (KEY_TYPE + claim != KEY_DISPLAY_NAME) {
            PyObject *number = PyLong_FromUnsignedLongLong(value[claim]);
            if (number == NULL) {
                return -1;
            }
            PyTuple_SET_ITEM(out, at + claim, number);
        }
    }
    PyObject *uid = card_uid ? PyBytes_FromStringAndSize((const char *)card_uid, (Py_ssize_t)card_uid_size) : Py_NewRef(Py_None);
    PyObject *key = holder_key ? PyBytes_FromStringAndSize((const char *)holder_key, HOLDER_KEY_SIZE) : Py_NewRef(Py_None);
    if (uid != NULL) {
        PyTuple_SET_ITEM(out, at + 9, uid);
    }
    if (key != NULL) {
        PyTuple_SET_ITEM(out, at + 10, key);
    }
    return uid != NULL && key != NULL ? 1 : -1;
}

enum { CLAIM_FIELDS = 11 };

/* The tuple of a reader: None for 0, the tuple for 1, NULL (the error set) for -1. */
static PyObject *
finish(PyObject *out, int read)
{
    if (read == 1) {
        return out;
    }
    Py_DECREF(out); /* frees whatever items were set; unset ones are NULL */
    if (read < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
claims_fields(PyObject *Py_UNUSED(module), PyObject *payload)
{
    if (!PyBytes_Check(payload)) {
        PyErr_SetString(PyExc_TypeError, "claims_fields() takes bytes");
        return NULL;
    }
    PyObject *out = PyTuple_New(CLAIM_FIELDS);
    if (out == NULL) {
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(payload);
    return finish(out, read_claims(p, p + PyBytes_GET_SIZE(payload), out, 0));
}

/* The envelope every v1 credential has (cose.py, _decode_common_form): array(4), the 7-byte
 * protected header {1: -8, 4: h'<kid:2>'}, the empty map, the payload as a bstr with a
 * one-byte length (24 … 255), the 64-byte signature. */
static const unsigned char CREDENTIAL_PREFIX[7] = {0x84, 0x47, 0xa2, 0x01, 0x27, 0x04, 0x42};
enum { KID_END = 9, KID_SIZE = 2, SIGNATURE_SIZE = 64, ENVELOPE_SIZE = KID_END + 3 + 2 + SIGNATURE_SIZE };

/*
 * (kid, signature, protected, payload, *claims_fields) of a credential in that envelope whose
 * payload claims_fields reads, or None.
 */
static PyObject *
credential_fields(PyObject *Py_UNUSED(module), PyObject *data)
{
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "credential_fields() takes bytes");
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(data);
    const Py_ssize_t length = PyBytes_GET_SIZE(data), size = length - ENVELOPE_SIZE;
    if (size < 24 || size > 255 || memcmp(p, CREDENTIAL_PREFIX, sizeof CREDENTIAL_PREFIX) != 0 ||
        p[KID_END] != 0xa0 || p[KID_END + 1] != 0x58 || p[KID_END + 2] != size ||
        p[length - SIGNATURE_SIZE - 2] != 0x58 || p[length - SIGNATURE_SIZE - 1] != SIGNATURE_SIZE) {
        Py_RETURN_NONE;
    }
    const unsigned char *payload = p + KID_END + 3;
    PyObject *out = PyTuple_New(4 + CLAIM_FIELDS);
    if (out == NULL) {
        return NULL;
    }
    int read = read_claims(payload, payload + size, out, 4);
    if (read != 1) {
        return finish(out, read);
    }
    PyObject *parts[4] = {
        PyBytes_FromStringAndSize((const char *)p + KID_END - KID_SIZE, KID_SIZE),
        PyBytes_FromStringAndSize((const char *)p + length - SIGNATURE_SIZE, SIGNATURE_SIZE),
        PyBytes_FromStringAndSize((const char *)p + 2, KID_END - 2),
        PyBytes_FromStringAndSize((const char *)payload, size),
    };
    read = 1;
    for (int i = 0; i < 4; i++) {
        if (parts[i] == NULL) {
            read = -1;
        }
        else {
            PyTuple_SET_ITEM(out, i, parts[i]);
        }
    }
    return finish(out, read);
}

static PyMethodDef methods[] = {
    {"decimal_to_bytes", decimal_to_bytes, METH_O, "The bytes of a decimal text form, or None."},
    {"claims_fields", claims_fields, METH_O, "The fields of a v1 claims map as the format writes it, or None."},
    {"credential_fields", credential_fields, METH_O, "(kid, signature, protected, payload, *claims_fields), or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups = {
    PyModuleDef_HEAD_INIT, "anxinma.credential._speedups", "C readers of the credential's hot path.", 0, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&speedups);
}
