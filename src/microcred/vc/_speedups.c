/* microcred.vc._speedups: the hot loops of signing and verifying, in C (ADR 0024).
 *
 * Each function has a pure-Python twin that stays the reference (``vc.fastcanon._describe_py``,
 * ``vc.jsonsafe._copy_json_py``, ``vc.multikey._b58encode_py`` and ``_b58decode_py``); the tests
 * hold the two equal on random documents. The extension is optional: without a C compiler the
 * package installs and runs on the Python twins.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Set once by configure(): the shape tags of vc.fastcanon, its "unsupported" exception and the
 * keys whose string values are structural. DEEPCOPY: copy.deepcopy, for values not JSON. */
static PyObject *T_DICT, *T_LIST, *T_END, *T_STR, *T_SLOT, *T_INT, *T_FLOAT, *T_BOOL, *T_NULL;
static PyObject *UNSUPPORTED, *STRUCTURAL_KEYS, *DEEPCOPY;
static PyObject *S_DID, *S_URN, *S_HTTP, *S_HTTPS, *S_HTTP2, *S_HTTPS2;
static Py_ssize_t MAX_DEPTH = 48;

typedef struct {
    PyObject *tokens;  /* list */
    PyObject *values;  /* list */
    PyObject *schemes; /* list */
} Walk;

static int emit(PyObject *list, PyObject *item) { return PyList_Append(list, item); }

/* The characters vc.fastcanon._IRI refuses after the scheme: ASCII whitespace and <>"{}|\^` */
static int iri_refused(Py_UCS4 c) {
    switch (c) {
    case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
    case '<': case '>': case '"': case '{': case '}': case '|': case '\\': case '^': case '`':
        return 1;
    default:
        return 0;
    }
}

/* The IRI scheme of ``value`` as vc.fastcanon._IRI (re.ASCII, ``re.match``) reads it: "did",
 * "urn", "http", "https", with "//" appended when the (//)? group matches; NULL (no new
 * reference, no error) when the value is text. ``$`` also matches before one final newline. */
static PyObject *iri_scheme(PyObject *value) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    int kind = PyUnicode_KIND(value);
    const void *data = PyUnicode_DATA(value);
#define AT(i) PyUnicode_READ(kind, data, (i))
    Py_ssize_t start;
    int which; /* 0 did, 1 urn, 2 http, 3 https */
    if (n >= 4 && AT(0) == 'd' && AT(1) == 'i' && AT(2) == 'd' && AT(3) == ':') {
        which = 0; start = 4;
    } else if (n >= 4 && AT(0) == 'u' && AT(1) == 'r' && AT(2) == 'n' && AT(3) == ':') {
        which = 1; start = 4;
    } else if (n >= 5 && AT(0) == 'h' && AT(1) == 't' && AT(2) == 't' && AT(3) == 'p') {
        if (AT(4) == ':') {
            which = 2; start = 5;
        } else if (n >= 6 && AT(4) == 's' && AT(5) == ':') {
            which = 3; start = 6;
        } else {
            return NULL;
        }
    } else {
        return NULL;
    }
    Py_ssize_t end = n;
    if (end > start && AT(end - 1) == '\n') end--; /* ``$`` before a final newline */
    if (end <= start) return NULL;
    for (Py_ssize_t i = start; i < end; i++) {
        if (iri_refused(AT(i))) return NULL;
    }
    int slashes = (end - start > 2 && AT(start) == '/' && AT(start + 1) == '/');
#undef AT
    switch (which) {
    case 0: return S_DID;
    case 1: return S_URN;
    case 2: return slashes ? S_HTTP2 : S_HTTP;
    default: return slashes ? S_HTTPS2 : S_HTTPS;
    }
}

static int is_fixed_text(PyObject *text) {
    /* empty, or starting with "@": a keyword-like string, part of the shape */
    return PyUnicode_GET_LENGTH(text) == 0 || PyUnicode_READ_CHAR(text, 0) == '@';
}

static int text(Walk *w, PyObject *value) {
    PyObject *scheme = iri_scheme(value);
    if (emit(w->schemes, scheme ? scheme : Py_None) < 0) return -1;
    if (emit(w->values, value) < 0) return -1;
    if (emit(w->tokens, T_SLOT) < 0) return -1;
    return emit(w->tokens, scheme ? scheme : Py_None);
}

static int string_item(Walk *w, PyObject *value, int structural) {
    if (structural || is_fixed_text(value)) {
        if (emit(w->tokens, T_STR) < 0) return -1;
        return emit(w->tokens, value);
    }
    return text(w, value);
}

static int key_is_fixed(PyObject *key) {
    /* key in ("@context", "type", "@type"), or a keyword other than @id and @value */
    int found = PySet_Contains(STRUCTURAL_KEYS, key);
    if (found != 0) return found; /* 1, or -1 on error */
    if (PyUnicode_GET_LENGTH(key) == 0 || PyUnicode_READ_CHAR(key, 0) != '@') return 0;
    if (PyUnicode_CompareWithASCIIString(key, "@id") == 0) return 0;
    if (PyUnicode_CompareWithASCIIString(key, "@value") == 0) return 0;
    return 1;
}

static int unsupported(void) {
    PyErr_SetNone(UNSUPPORTED);
    return -1;
}

static int walk(Walk *w, PyObject *value, Py_ssize_t depth, int structural) {
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyDict_Type) {
        if (depth >= MAX_DEPTH) return unsupported();
        if (emit(w->tokens, T_DICT) < 0) return -1;
        Py_ssize_t pos = 0;
        PyObject *key, *child;
        while (PyDict_Next(value, &pos, &key, &child)) {
            if (Py_TYPE(key) != &PyUnicode_Type) return unsupported();
            if (emit(w->tokens, key) < 0) return -1;
            int fixed = structural;
            if (!fixed) {
                fixed = key_is_fixed(key);
                if (fixed < 0) return -1;
            }
            /* a borrowed child stays alive: the walk never changes the document */
            if (Py_TYPE(child) == &PyUnicode_Type) {
                if (string_item(w, child, fixed) < 0) return -1;
            } else if (walk(w, child, depth + 1, fixed) < 0) {
                return -1;
            }
        }
        return emit(w->tokens, T_END);
    }
    if (type == &PyList_Type) {
        if (depth >= MAX_DEPTH) return unsupported();
        if (emit(w->tokens, T_LIST) < 0) return -1;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            PyObject *item = PyList_GET_ITEM(value, i);
            Py_INCREF(item);
            int failed;
            if (Py_TYPE(item) == &PyUnicode_Type) {
                failed = string_item(w, item, structural) < 0;
            } else {
                failed = walk(w, item, depth + 1, structural) < 0;
            }
            Py_DECREF(item);
            if (failed) return -1;
        }
        return emit(w->tokens, T_END);
    }
    if (type == &PyUnicode_Type) return string_item(w, value, structural);
    if (type == &PyBool_Type) {
        if (emit(w->tokens, T_BOOL) < 0) return -1;
        return emit(w->tokens, value);
    }
    if (type == &PyLong_Type) {
        if (emit(w->tokens, T_INT) < 0) return -1;
        return emit(w->tokens, value);
    }
    if (type == &PyFloat_Type) {
        if (emit(w->tokens, T_FLOAT) < 0) return -1;
        PyObject *repr = PyObject_Repr(value); /* -0.0 and 0.0: different literals */
        if (repr == NULL) return -1;
        int failed = emit(w->tokens, repr);
        Py_DECREF(repr);
        return failed;
    }
    if (value == Py_None) return emit(w->tokens, T_NULL);
    return unsupported();
}

static int configured(void) {
    if (T_DICT == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "microcred.vc._speedups.configure() was not called");
        return 0;
    }
    return 1;
}

/* describe(document: dict) -> (shape tuple, values, schemes), as vc.fastcanon._describe_py */
static PyObject *describe(PyObject *self, PyObject *document) {
    if (!configured()) return NULL;
    if (Py_TYPE(document) != &PyDict_Type) {
        PyErr_SetString(PyExc_TypeError, "describe() takes a dict");
        return NULL;
    }
    Walk w = {PyList_New(0), PyList_New(0), PyList_New(0)};
    PyObject *result = NULL;
    if (w.tokens && w.values && w.schemes && walk(&w, document, 0, 0) == 0) {
        PyObject *shape = PyList_AsTuple(w.tokens);
        if (shape != NULL) {
            result = PyTuple_Pack(3, shape, w.values, w.schemes);
            Py_DECREF(shape);
        }
    }
    Py_XDECREF(w.tokens);
    Py_XDECREF(w.values);
    Py_XDECREF(w.schemes);
    return result;
}

/* copy_json(value): a deep copy of JSON data; anything else through copy.deepcopy */
static PyObject *copy_json(PyObject *self, PyObject *value) {
    PyTypeObject *type = Py_TYPE(value);
    if (type == &PyDict_Type) {
        if (Py_EnterRecursiveCall(" in copy_json")) return NULL;
        PyObject *copy = PyDict_New();
        Py_ssize_t pos = 0, size = PyDict_GET_SIZE(value);
        PyObject *key, *child;
        while (copy != NULL && PyDict_Next(value, &pos, &key, &child)) {
            /* copying a value that is not JSON runs Python code, which may change the dict */
            Py_INCREF(key);
            Py_INCREF(child);
            PyObject *inner = copy_json(self, child);
            Py_DECREF(child);
            if (inner != NULL && PyDict_GET_SIZE(value) != size) {
                PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
                Py_CLEAR(inner);
            }
            if (inner == NULL || PyDict_SetItem(copy, key, inner) < 0) {
                Py_DECREF(key);
                Py_XDECREF(inner);
                Py_CLEAR(copy);
                break;
            }
            Py_DECREF(key);
            Py_DECREF(inner);
        }
        Py_LeaveRecursiveCall();
        return copy;
    }
    if (type == &PyList_Type) {
        if (Py_EnterRecursiveCall(" in copy_json")) return NULL;
        PyObject *copy = PyList_New(0);
        for (Py_ssize_t i = 0; copy != NULL && i < PyList_GET_SIZE(value); i++) {
            PyObject *item = PyList_GET_ITEM(value, i);
            Py_INCREF(item);
            PyObject *inner = copy_json(self, item);
            Py_DECREF(item);
            if (inner == NULL || PyList_Append(copy, inner) < 0) {
                Py_XDECREF(inner);
                Py_CLEAR(copy);
                break;
            }
            Py_DECREF(inner);
        }
        Py_LeaveRecursiveCall();
        return copy;
    }
    if (type == &PyUnicode_Type || type == &PyLong_Type || type == &PyFloat_Type ||
        type == &PyBool_Type || value == Py_None) {
        Py_INCREF(value);
        return value;
    }
    if (DEEPCOPY == NULL) {
        PyObject *copy = PyImport_ImportModule("copy");
        if (copy == NULL) return NULL;
        DEEPCOPY = PyObject_GetAttrString(copy, "deepcopy");
        Py_DECREF(copy);
        if (DEEPCOPY == NULL) return NULL;
    }
    return PyObject_CallOneArg(DEEPCOPY, value);
}

static const char B58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
#define B58_MAX 4096 /* bytes to encode; text to decode: up to what they encode to */
#define B58_TEXT_MAX (B58_MAX * 138 / 100 + 1)

/* b58encode(data: bytes) -> str (Bitcoin alphabet, leading zero bytes as "1") */
static PyObject *b58encode(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *in = view.buf;
    Py_ssize_t n = view.len;
    if (n > B58_MAX) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "b58encode: input too long");
        return NULL;
    }
    Py_ssize_t zeros = 0;
    while (zeros < n && in[zeros] == 0) zeros++;
    Py_ssize_t size = (n - zeros) * 138 / 100 + 1; /* log(256) / log(58) < 1.38 */
    unsigned char *digits = PyMem_Calloc(size > 0 ? size : 1, 1);
    if (digits == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_ssize_t used = 0; /* digits[size - used .. size) hold the number, base 58 */
    for (Py_ssize_t i = zeros; i < n; i++) {
        int carry = in[i];
        Py_ssize_t j = 0;
        for (Py_ssize_t k = size - 1; (carry != 0 || j < used) && k >= 0; k--, j++) {
            carry += 256 * digits[k];
            digits[k] = (unsigned char)(carry % 58);
            carry /= 58;
        }
        used = j;
    }
    PyBuffer_Release(&view);
    Py_ssize_t skip = size - used;
    while (skip < size && digits[skip] == 0) skip++;
    PyObject *out = PyUnicode_New(zeros + (size - skip), 127);
    if (out != NULL) {
        Py_UCS1 *text = PyUnicode_1BYTE_DATA(out);
        Py_ssize_t p = 0;
        for (Py_ssize_t i = 0; i < zeros; i++) text[p++] = '1';
        for (Py_ssize_t i = skip; i < size; i++) text[p++] = (Py_UCS1)B58[digits[i]];
    }
    PyMem_Free(digits);
    return out;
}

/* b58decode(text: str) -> bytes; ValueError naming the first character not in the alphabet */
static PyObject *b58decode(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "b58decode() takes a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    if (n > B58_TEXT_MAX) {
        PyErr_SetString(PyExc_ValueError, "b58decode: input too long");
        return NULL;
    }
    static signed char map[128];
    static int ready = 0;
    if (!ready) {
        memset(map, -1, sizeof map);
        for (int i = 0; i < 58; i++) map[(unsigned char)B58[i]] = (signed char)i;
        ready = 1;
    }
    Py_ssize_t zeros = 0;
    while (zeros < n && PyUnicode_READ_CHAR(arg, zeros) == '1') zeros++;
    Py_ssize_t size = (n - zeros) * 733 / 1000 + 1; /* log(58) / log(256) < 0.733 */
    unsigned char *bytes = PyMem_Calloc(size, 1);
    if (bytes == NULL) return PyErr_NoMemory();
    Py_ssize_t used = 0;
    for (Py_ssize_t i = zeros; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(arg, i);
        int carry = c < 128 ? map[c] : -1;
        if (carry < 0) {
            PyMem_Free(bytes);
            PyObject *bad = PyUnicode_FromOrdinal(c);
            if (bad != NULL) {
                PyErr_Format(PyExc_ValueError, "Invalid character %R", bad);
                Py_DECREF(bad);
            }
            return NULL;
        }
        Py_ssize_t j = 0;
        for (Py_ssize_t k = size - 1; (carry != 0 || j < used) && k >= 0; k--, j++) {
            carry += 58 * bytes[k];
            bytes[k] = (unsigned char)(carry & 0xff);
            carry >>= 8;
        }
        used = j;
    }
    Py_ssize_t skip = size - used;
    while (skip < size && bytes[skip] == 0) skip++;
    PyObject *out = PyBytes_FromStringAndSize(NULL, zeros + (size - skip));
    if (out != NULL) {
        char *raw = PyBytes_AS_STRING(out);
        memset(raw, 0, zeros);
        memcpy(raw + zeros, bytes + skip, size - skip);
    }
    PyMem_Free(bytes);
    return out;
}

/* One line from its spec: a tuple alternating fixed text (even positions) and an index into
 * ``args`` (odd positions), as vc.rdfc._render_py builds it. */
static PyObject *render_one(PyObject *spec, PyObject *args) {
    Py_ssize_t parts = PyTuple_GET_SIZE(spec), nargs = PyList_GET_SIZE(args), length = 0;
    Py_UCS4 maxchar = 127;
    for (Py_ssize_t i = 0; i < parts; i++) {
        PyObject *part = PyTuple_GET_ITEM(spec, i);
        if (i % 2) {
            Py_ssize_t index = PyLong_AsSsize_t(part);
            if (index == -1 && PyErr_Occurred()) return NULL;
            if (index < 0 || index >= nargs) {
                PyErr_SetString(PyExc_IndexError, "render: argument index out of range");
                return NULL;
            }
            part = PyList_GET_ITEM(args, index);
        }
        if (!PyUnicode_Check(part)) {
            PyErr_SetString(PyExc_TypeError, "render: texts must be str");
            return NULL;
        }
        length += PyUnicode_GET_LENGTH(part);
        Py_UCS4 top = PyUnicode_MAX_CHAR_VALUE(part);
        if (top > maxchar) maxchar = top;
    }
    PyObject *line = PyUnicode_New(length, maxchar);
    if (line == NULL) return NULL;
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < parts; i++) {
        PyObject *part = PyTuple_GET_ITEM(spec, i);
        if (i % 2) part = PyList_GET_ITEM(args, PyLong_AsSsize_t(part));
        Py_ssize_t n = PyUnicode_GET_LENGTH(part);
        if (n && PyUnicode_KIND(part) == PyUnicode_KIND(line)) { /* the usual case: a copy */
            int kind = PyUnicode_KIND(line);
            memcpy((char *)PyUnicode_DATA(line) + at * kind, PyUnicode_DATA(part), n * kind);
        } else if (n && PyUnicode_CopyCharacters(line, at, part, 0, n) < 0) {
            Py_DECREF(line);
            return NULL;
        }
        at += n;
    }
    return line;
}

/* Append each spec's line, filled from args, to out (a list); NULL on error */
static PyObject *render_into(PyObject *out, PyObject *specs, PyObject *args) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(specs); i++) {
        PyObject *spec = PyTuple_GET_ITEM(specs, i);
        if (!PyTuple_Check(spec)) {
            PyErr_SetString(PyExc_TypeError, "render: each spec is a tuple");
            return NULL;
        }
        PyObject *line = render_one(spec, args);
        if (line == NULL || PyList_Append(out, line) < 0) {
            Py_XDECREF(line);
            return NULL;
        }
        Py_DECREF(line);
    }
    return out;
}

static PyObject *SHA256, *HEXDIGEST;

/* The texts node's lines take from args, as a tuple */
static PyObject *node_texts(PyObject *specs, PyObject *args) {
    Py_ssize_t count = 0;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(specs); j++) {
        if (!PyTuple_Check(PyTuple_GET_ITEM(specs, j))) {
            PyErr_SetString(PyExc_TypeError, "first_degree: each spec is a tuple");
            return NULL;
        }
        count += PyTuple_GET_SIZE(PyTuple_GET_ITEM(specs, j)) / 2;
    }
    PyObject *key = PyTuple_New(count);
    if (key == NULL) return NULL;
    Py_ssize_t at = 0;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(specs); j++) {
        PyObject *spec = PyTuple_GET_ITEM(specs, j);
        for (Py_ssize_t k = 1; k < PyTuple_GET_SIZE(spec); k += 2) {
            Py_ssize_t arg = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, k));
            if (arg < 0 || arg >= PyList_GET_SIZE(args)) {
                if (!PyErr_Occurred()) PyErr_SetString(PyExc_IndexError, "argument out of range");
                Py_DECREF(key);
                return NULL;
            }
            PyObject *text = PyList_GET_ITEM(args, arg);
            Py_INCREF(text);
            PyTuple_SET_ITEM(key, at++, text);
        }
    }
    return key;
}

/* Each blank node's first-degree hash (hex), as
 * vc.rdfc._first_degree_py: per node (fixed lines, specs), the lines sorted, joined, SHA-256.
 * ``memo`` (a dict, one per template) keeps each node's last texts and hash: most nodes of one
 * definition's credentials (the achievement, its criteria) take the same texts every time, and
 * comparing texts is cheaper than hashing them for a larger memo. */
static PyObject *first_degree(PyObject *nodes, PyObject *args, PyObject *memo) {
    if (SHA256 == NULL) {
        PyObject *hashlib = PyImport_ImportModule("hashlib");
        if (hashlib == NULL) return NULL;
        SHA256 = PyObject_GetAttrString(hashlib, "sha256");
        Py_DECREF(hashlib);
        if (SHA256 == NULL) return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(nodes);
    PyObject *key = NULL, *index = NULL;
    PyObject *digests = PyList_New(count);
    PyObject *empty = PyUnicode_New(0, 0);
    if (digests == NULL || empty == NULL) goto fail;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *node = PyTuple_GET_ITEM(nodes, i);
        if (!PyTuple_Check(node) || PyTuple_GET_SIZE(node) != 2 ||
            !PyTuple_Check(PyTuple_GET_ITEM(node, 0)) || !PyTuple_Check(PyTuple_GET_ITEM(node, 1))) {
            PyErr_SetString(PyExc_TypeError, "first_degree: each node is (fixed, specs)");
            goto fail;
        }
        key = node_texts(PyTuple_GET_ITEM(node, 1), args);
        if (key == NULL) goto fail;
        index = PyLong_FromSsize_t(i);
        if (index == NULL) goto fail;
        PyObject *last = PyDict_GetItemWithError(memo, index); /* borrowed: (texts, digest) */
        if (last == NULL && PyErr_Occurred()) goto fail;
        if (last != NULL && PyTuple_Check(last) && PyTuple_GET_SIZE(last) == 2) {
            Py_INCREF(last); /* held: a comparison could change the memo */
            int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(last, 0), key, Py_EQ);
            if (same == 1) {
                PyObject *known = PyTuple_GET_ITEM(last, 1);
                Py_INCREF(known);
                PyList_SET_ITEM(digests, i, known);
            }
            Py_DECREF(last);
            if (same < 0) goto fail;
            if (same) {
                Py_CLEAR(key);
                Py_CLEAR(index);
                continue;
            }
        }
        PyObject *fixed = PyTuple_GET_ITEM(node, 0);
        PyObject *list = PyList_New(PyTuple_GET_SIZE(fixed));
        if (list == NULL) goto fail;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(fixed); j++) {
            PyObject *line = PyTuple_GET_ITEM(fixed, j);
            Py_INCREF(line);
            PyList_SET_ITEM(list, j, line);
        }
        if (render_into(list, PyTuple_GET_ITEM(node, 1), args) == NULL || PyList_Sort(list) < 0) {
            Py_DECREF(list);
            goto fail;
        }
        PyObject *joined = PyUnicode_Join(empty, list);
        Py_DECREF(list);
        if (joined == NULL) goto fail;
        PyObject *encoded = PyUnicode_AsUTF8String(joined);
        Py_DECREF(joined);
        if (encoded == NULL) goto fail;
        PyObject *hash = PyObject_CallOneArg(SHA256, encoded);
        Py_DECREF(encoded);
        if (hash == NULL) goto fail;
        PyObject *hex = PyObject_CallMethodNoArgs(hash, HEXDIGEST);
        Py_DECREF(hash);
        if (hex == NULL) goto fail;
        PyList_SET_ITEM(digests, i, hex);
        PyObject *entry = PyTuple_Pack(2, key, hex);
        int stored = entry ? PyDict_SetItem(memo, index, entry) : -1;
        Py_XDECREF(entry);
        Py_CLEAR(key);
        Py_CLEAR(index);
        if (stored < 0) goto fail;
    }
    Py_DECREF(empty);
    return digests;
fail:
    Py_XDECREF(key);
    Py_XDECREF(index);
    Py_XDECREF(digests);
    Py_XDECREF(empty);
    return NULL;
}

/* N-Quads string escaping as pyld writes it: backslash, tab, newline, carriage return, quote */
static PyObject *escape(PyObject *text) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), extra = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        extra += (c == '\\' || c == '\t' || c == '\n' || c == '\r' || c == '"');
    }
    if (extra == 0) {
        Py_INCREF(text);
        return text;
    }
    PyObject *out = PyUnicode_New(n + extra, PyUnicode_MAX_CHAR_VALUE(text));
    if (out == NULL) return NULL;
    int okind = PyUnicode_KIND(out);
    void *odata = PyUnicode_DATA(out);
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        Py_UCS4 code = c == '\\' ? '\\' : c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r'
                     : c == '"' ? '"' : 0;
        if (code) {
            PyUnicode_WRITE(okind, odata, at++, '\\');
            PyUnicode_WRITE(okind, odata, at++, code);
        } else {
            PyUnicode_WRITE(okind, odata, at++, c);
        }
    }
    return out;
}

static PyObject *LABELS; /* "_:c14n0", "_:c14n1"... made as needed */

static PyObject *label(Py_ssize_t i) {
    if (LABELS == NULL && (LABELS = PyList_New(0)) == NULL) return NULL;
    while (PyList_GET_SIZE(LABELS) <= i) {
        PyObject *next = PyUnicode_FromFormat("_:c14n%zd", PyList_GET_SIZE(LABELS));
        if (next == NULL || PyList_Append(LABELS, next) < 0) {
            Py_XDECREF(next);
            return NULL;
        }
        Py_DECREF(next);
    }
    return PyList_GET_ITEM(LABELS, i); /* borrowed */
}

/* serialize(node_specs, line_specs, fixed_lines, named, literal_slots, values, memo) -> canonical
 * N-Quads, or None where vc.rdfc's generic step must decide (blank nodes that first-degree
 * hashes do not tell apart, or quads naming a blank node that fill in equal): the twin of
 * vc.rdfc._serialize_py. */
static PyObject *serialize(PyObject *self, PyObject *const *argv, Py_ssize_t argc) {
    if (argc != 7 || !PyTuple_Check(argv[0]) || !PyTuple_Check(argv[1]) ||
        !PyTuple_Check(argv[2]) || !PyLong_Check(argv[3]) || !PyTuple_Check(argv[4]) ||
        !PyList_Check(argv[5]) || !PyDict_Check(argv[6])) {
        PyErr_SetString(PyExc_TypeError, "serialize(node_specs, line_specs, fixed_lines, named, "
                                         "literal_slots, values, memo)");
        return NULL;
    }
    PyObject *node_specs = argv[0], *line_specs = argv[1], *fixed = argv[2], *slots = argv[4];
    Py_ssize_t named = PyLong_AsSsize_t(argv[3]);
    if (named < 0 || named > PyTuple_GET_SIZE(line_specs)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "serialize: named out of range");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(argv[5]); i++) {
        /* exact str: comparing and hashing them runs no Python code */
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(argv[5], i))) {
            PyErr_SetString(PyExc_TypeError, "serialize: values must be str");
            return NULL;
        }
    }
    PyObject *args = PySequence_List(argv[5]);
    PyObject *digests = NULL, *lines = NULL, *unique = NULL, *empty = NULL, *result = NULL;
    if (args == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(slots); i++) {
        Py_ssize_t slot = PyLong_AsSsize_t(PyTuple_GET_ITEM(slots, i));
        if (slot < 0 || slot >= PyList_GET_SIZE(args)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_IndexError, "serialize: slot out of range");
            goto done;
        }
        PyObject *escaped = escape(PyList_GET_ITEM(args, slot)); /* str: checked above */
        if (escaped == NULL) goto done;
        PyList_SetItem(args, slot, escaped); /* steals escaped, drops the old value */
    }
    Py_ssize_t nodes = PyTuple_GET_SIZE(node_specs);
    if (nodes) {
        digests = first_degree(node_specs, args, argv[6]);
        if (digests == NULL) goto done;
        /* labels in digest order; equal digests: the N-degree step would be needed */
        PyObject *order = PyList_New(nodes);
        if (order == NULL) goto done;
        for (Py_ssize_t i = 0; i < nodes; i++) {
            PyObject *entry = Py_BuildValue("(On)", PyList_GET_ITEM(digests, i), i);
            if (entry == NULL) {
                Py_DECREF(order);
                goto done;
            }
            PyList_SET_ITEM(order, i, entry);
        }
        if (PyList_Sort(order) < 0) {
            Py_DECREF(order);
            goto done;
        }
        PyObject *labels = PyList_New(nodes);
        if (labels == NULL) {
            Py_DECREF(order);
            goto done;
        }
        int tied = 0;
        for (Py_ssize_t issued = 0; issued < nodes; issued++) {
            PyObject *entry = PyList_GET_ITEM(order, issued);
            if (issued > 0) {
                int same = PyObject_RichCompareBool(
                    PyTuple_GET_ITEM(entry, 0),
                    PyTuple_GET_ITEM(PyList_GET_ITEM(order, issued - 1), 0), Py_EQ);
                if (same != 0) {
                    tied = same == 1;
                    break;
                }
            }
            PyObject *text = label(issued);
            if (text == NULL) break;
            Py_INCREF(text);
            PyList_SET_ITEM(labels, PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, 1)), text);
        }
        Py_DECREF(order);
        if (tied || PyErr_Occurred()) {
            Py_DECREF(labels);
            if (tied) {
                Py_INCREF(Py_None);
                result = Py_None;
            }
            goto done;
        }
        for (Py_ssize_t i = 0; i < nodes; i++) {
            if (PyList_Append(args, PyList_GET_ITEM(labels, i)) < 0) {
                Py_DECREF(labels);
                goto done;
            }
        }
        Py_DECREF(labels);
    }
    lines = PyList_New(0);
    if (lines == NULL || render_into(lines, line_specs, args) == NULL) goto done;
    if (named > 1) { /* quads naming a blank node that fill in equal: the generic step merges them */
        PyObject *head = PyList_GetSlice(lines, 0, named);
        if (head == NULL || PyList_Sort(head) < 0) {
            Py_XDECREF(head);
            goto done;
        }
        int equal = 0;
        for (Py_ssize_t i = 1; i < named && equal == 0; i++) {
            equal = PyObject_RichCompareBool(PyList_GET_ITEM(head, i - 1), PyList_GET_ITEM(head, i),
                                             Py_EQ);
        }
        Py_DECREF(head);
        if (equal != 0) {
            if (equal == 1) {
                Py_INCREF(Py_None);
                result = Py_None;
            }
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fixed); i++) {
        if (PyList_Append(lines, PyTuple_GET_ITEM(fixed, i)) < 0) goto done;
    }
    if (PyList_Sort(lines) < 0) goto done;
    /* equal quads merge (the dataset is a set): sorted, they are neighbours */
    Py_ssize_t count = PyList_GET_SIZE(lines), kept = 0;
    unique = PyList_New(0);
    if (unique == NULL) goto done;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *line = PyList_GET_ITEM(lines, i);
        if (kept) {
            int equal = PyObject_RichCompareBool(PyList_GET_ITEM(unique, kept - 1), line, Py_EQ);
            if (equal < 0) goto done;
            if (equal) continue;
        }
        if (PyList_Append(unique, line) < 0) goto done;
        kept++;
    }
    empty = PyUnicode_New(0, 0);
    if (empty == NULL) goto done;
    result = PyUnicode_Join(empty, unique);
done:
    Py_XDECREF(args);
    Py_XDECREF(digests);
    Py_XDECREF(lines);
    Py_XDECREF(unique);
    Py_XDECREF(empty);
    return result;
}

/* has_control(texts) -> whether any text holds a character vc.canon.BAD_CONTROL matches:
 * U+0000-U+0008, U+000B, U+000C, U+000E-U+001F, U+007F */
static PyObject *has_control(PyObject *self, PyObject *texts) {
    if (!PyList_Check(texts)) {
        PyErr_SetString(PyExc_TypeError, "has_control() takes a list of str");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(texts); i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "has_control() takes a list of str");
            return NULL;
        }
        Py_ssize_t n = PyUnicode_GET_LENGTH(text);
        int kind = PyUnicode_KIND(text);
        const void *data = PyUnicode_DATA(text);
        for (Py_ssize_t j = 0; j < n; j++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, j);
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) Py_RETURN_TRUE;
        }
    }
    Py_RETURN_FALSE;
}

static PyObject *configure(PyObject *self, PyObject *args) {
    PyObject *tags, *exc, *keys;
    Py_ssize_t depth;
    if (!PyArg_ParseTuple(args, "O!OO!n", &PyTuple_Type, &tags, &exc, &PyFrozenSet_Type, &keys,
                          &depth))
        return NULL;
    if (PyTuple_GET_SIZE(tags) != 9) {
        PyErr_SetString(PyExc_ValueError, "configure() takes nine tags");
        return NULL;
    }
    PyObject **slots[] = {&T_DICT, &T_LIST, &T_END, &T_STR, &T_SLOT,
                          &T_INT,  &T_FLOAT, &T_BOOL, &T_NULL};
    for (int i = 0; i < 9; i++) {
        PyObject *tag = PyTuple_GET_ITEM(tags, i);
        Py_INCREF(tag);
        Py_XSETREF(*slots[i], tag);
    }
    Py_INCREF(exc);
    Py_XSETREF(UNSUPPORTED, exc);
    Py_INCREF(keys);
    Py_XSETREF(STRUCTURAL_KEYS, keys);
    MAX_DEPTH = depth;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS,
     "configure(tags, unsupported, structural_keys, max_depth)"},
    {"describe", describe, METH_O, "describe(document) -> (shape, values, schemes)"},
    {"copy_json", copy_json, METH_O, "copy_json(value) -> a deep copy of JSON data"},
    {"serialize", (PyCFunction)(void (*)(void))serialize, METH_FASTCALL,
     "serialize(node_specs, line_specs, fixed_lines, named, literal_slots, values, memo)"},
    {"has_control", has_control, METH_O, "has_control(texts) -> bool"},
    {"b58encode", b58encode, METH_O, "b58encode(data) -> base58 text (Bitcoin alphabet)"},
    {"b58decode", b58decode, METH_O, "b58decode(text) -> bytes"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void) {
    HEXDIGEST = PyUnicode_InternFromString("hexdigest");
    if (HEXDIGEST == NULL) return NULL;
    S_DID = PyUnicode_InternFromString("did");
    S_URN = PyUnicode_InternFromString("urn");
    S_HTTP = PyUnicode_InternFromString("http");
    S_HTTPS = PyUnicode_InternFromString("https");
    S_HTTP2 = PyUnicode_InternFromString("http//");
    S_HTTPS2 = PyUnicode_InternFromString("https//");
    if (!S_DID || !S_URN || !S_HTTP || !S_HTTPS || !S_HTTP2 || !S_HTTPS2) return NULL;
    return PyModule_Create(&module);
}
