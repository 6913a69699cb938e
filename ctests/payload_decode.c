/*
 * payload_decode: a client and a server of rt.Probe (ctests/idl/rt/), with
 * messages built by hand in the layout nk-gen-c gives the IDL (packed
 * structs, each member aligned to its natural alignment; strings, bytes
 * and sequences as nk_ptr_t into the arena), traced with payload capture
 * and the descriptions loaded from KOS_SHIM_EDL.
 *
 * Checks: the text trace (stderr, captured here) and the JSON trace show
 * every request and response decoded to exactly the values this program
 * sent, named Prober.probe:Probe.<Method> (or Prober.spare: for the call
 * on RIID 1); the filter KOS_SHIM_TRACE_FILTER="Probe.*,!Probe.Skip"
 * leaves Skip out. Each expected text is also written to
 * $PAYLOAD_DIR/expected.txt, one per line, for `make payload-decode-test`
 * to find in `kos-ipc-trace export` and babeltrace2 output of the .kst and
 * CTF traces this run writes.
 *
 * Output directory: $PAYLOAD_DIR (default build/payload-ctest), created.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/syscalls.h>
#include <nk/arena.h>
#include <nk/types.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "echo_harness.h"

/* RIIDs of rt.Prober's endpoints, MIDs of rt.Probe (declaration order). */
enum { RIID_PROBE, RIID_SPARE };
enum { MID_HELLO, MID_TRACK, MID_LABEL, MID_MARK, MID_SKIP, MID_QUIT };

/* rt.Geo.Point and rt.Geo.Place as nk-gen-c lays them out. */
typedef struct __nk_packed {
    __nk_alignas(4) nk_sint32_t x;
    __nk_alignas(4) nk_sint32_t y;
} Point;

typedef struct __nk_packed {
    __nk_alignas(4) nk_ptr_t label;
    __nk_alignas(4) Point at;
    __nk_alignas(2) nk_uint16_t tags[3];
} Place;

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t name;
    __nk_alignas(1) nk_uint8_t level;
} Hello_req;

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t path;
    __nk_alignas(8) nk_sint64_t stamp;
} Track_req;

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) Place place;
    __nk_alignas(4) nk_ptr_t blob;
} Label_req;

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) Point ends[2];
    __nk_alignas(4) nk_ptr_t words;
    __nk_alignas(8) nk_handle_desc_t token;
} Mark_req;

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
} Plain_req;

/* Responses: the out-parameters (or the error parameters) after base_. */
typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_uint32_t value;
} U32_res;

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(2) nk_sint16_t count;
} Track_res;

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t echo;
} Label_res;

nk_static_assert(sizeof(Place) == 24, place_size);
nk_static_assert(offsetof(Hello_req, level) == 32, hello_level);
nk_static_assert(offsetof(Track_req, stamp) == 32, track_stamp);
nk_static_assert(offsetof(Label_req, blob) == 48, label_blob);
nk_static_assert(offsetof(Mark_req, words) == 40, mark_words);
nk_static_assert(offsetof(Mark_req, token) == 48, mark_token);

#define HELLO_NAME "ann \"q\"\n"
#define MARK_ERROR 7

/* What the trace must show, in the text trace and in the JSON trace. */
static const char *const TEXT[] = {
    "Prober.probe:Probe.Hello out=", "Hello(name: \"ann \\\"q\\\"\\n\", level: 3)",
    "-> (greeted: 8)",
    "Track(path: [{x: 1, y: -2}, {x: 30, y: 40}, {x: -5, y: 6}], stamp: -1234567890123)",
    "-> (count: 3)",
    "Label(place: {label: \"dock\", at: {x: 7, y: 8}, tags: [1, 2, 65535]}, blob: <0a0b0cff>)",
    "-> (echo: \"dock!\")",
    "Mark(ends: [{x: 0, y: 0}, {x: -1, y: 1}], words: [\"alpha\", \"beta\", \"gamma\"], token: "
    "handle(42, rights 0x3))",
    "-> error (code: 7)", "Prober.spare:Probe.Hello out=",
    "Hello(name: \"spare\", level: 255)", "-> (greeted: 5)",
    /* The client's Call records carry the response too. */
    "level: 3) -> (greeted: 8)", "stamp: -1234567890123) -> (count: 3)",
    "blob: <0a0b0cff>) -> (echo: \"dock!\")", "rights 0x3)) -> error (code: 7)",
};

static const char *const JSON[] = {
    "\"params\":{\"name\":\"ann \\\"q\\\"\\n\",\"level\":3}",
    "\"params\":{\"greeted\":8}",
    "\"params\":{\"path\":[{\"x\":1,\"y\":-2},{\"x\":30,\"y\":40},{\"x\":-5,\"y\":6}],"
    "\"stamp\":-1234567890123}",
    "\"params\":{\"count\":3}",
    "\"params\":{\"place\":{\"label\":\"dock\",\"at\":{\"x\":7,\"y\":8},\"tags\":[1,2,65535]},",
    "\"params\":{\"echo\":\"dock!\"}",
    "\"words\":[\"alpha\",\"beta\",\"gamma\"]",
    "\"params\":{\"code\":7,\"_error\":true}",
    "\"result\":{\"greeted\":8}",
    "\"result\":{\"echo\":\"dock!\"}",
    "\"result\":{\"code\":7,\"_error\":true}",
};

/* ---- the server --------------------------------------------------------- */

static int dispatch(void *ctx, const struct nk_message *req, const struct nk_arena *req_arena,
                    struct nk_message *res, struct nk_arena *res_arena)
{
    (void)ctx;
    nk_msg_set_method_id(res, req->iid, req->mid);
    switch (req->mid) {
    case MID_HELLO: {
        const Hello_req *r = (const Hello_req *)req;
        nk_uint32_t n = 0;
        const char *name = nk_arena_get(char, req_arena, &r->name, &n);
        CHECK(name != NULL && n > 0);
        nk_msg_set_size(res, sizeof(U32_res));
        ((U32_res *)res)->value = (nk_uint32_t)strlen(name);
        return 0;
    }
    case MID_TRACK: {
        const Track_req *r = (const Track_req *)req;
        nk_uint32_t n = 0;
        CHECK(nk_arena_get(Point, req_arena, &r->path, &n) != NULL);
        nk_msg_set_size(res, sizeof(Track_res));
        ((Track_res *)res)->count = (nk_sint16_t)n;
        return 0;
    }
    case MID_LABEL: {
        const Label_req *r = (const Label_req *)req;
        nk_uint32_t n = 0;
        const char *label = nk_arena_get(char, req_arena, &r->place.label, &n);
        CHECK(label != NULL);
        char echo[40];
        snprintf(echo, sizeof echo, "%s!", label);
        Label_res *out = (Label_res *)res;
        nk_msg_set_size(res, sizeof(Label_res));
        CHECK_EQ(NK_EOK, nk_arena_store(char, res_arena, &out->echo, echo, strlen(echo) + 1));
        return 0;
    }
    case MID_MARK:
        nk_msg_set_size(res, sizeof(U32_res));
        nk_msg_set_err(res, 1);
        ((U32_res *)res)->value = MARK_ERROR;
        return 0;
    case MID_SKIP:
        nk_msg_set_size(res, sizeof(Plain_req));
        return 0;
    default:
        nk_msg_set_size(res, sizeof(Plain_req));
        return 1;
    }
}

/* ---- the client --------------------------------------------------------- */

static Handle client_handle;

static void call(struct nk_message *req, struct nk_arena *arena, struct nk_message *res,
                 size_t res_size)
{
    char res_buf[256];
    struct nk_arena res_arena;
    CHECK_RC(rcOk, echo_harness_call(client_handle, req, arena, res, res_size, &res_arena,
                                     res_buf, sizeof res_buf));
}

static void hello(nk_iid_t riid, const char *name, nk_uint8_t level, nk_uint32_t expect)
{
    char buf[128];
    struct nk_arena arena;
    Hello_req req;
    U32_res res;
    echo_harness_request(&req.base_, sizeof req, riid, MID_HELLO);
    echo_harness_arena_text(&arena, buf, sizeof buf, &req.name, name);
    req.level = level;
    call(&req.base_, &arena, &res.base_, sizeof res);
    CHECK_EQ(expect, res.value);
}

static void *client(void *arg)
{
    (void)arg;
    char buf[256];
    struct nk_arena arena;

    hello(RIID_PROBE, HELLO_NAME, 3, 8);

    Track_req track;
    Track_res track_res;
    const Point path[3] = {{1, -2}, {30, 40}, {-5, 6}};
    echo_harness_request(&track.base_, sizeof track, RIID_PROBE, MID_TRACK);
    nk_arena_init(&arena, buf, buf + sizeof buf);
    CHECK_EQ(NK_EOK, nk_arena_store(Point, &arena, &track.path, path, 3));
    track.stamp = -1234567890123LL;
    call(&track.base_, &arena, &track_res.base_, sizeof track_res);
    CHECK_EQ(3, track_res.count);

    Label_req label;
    Label_res label_res;
    const unsigned char blob[4] = {0x0a, 0x0b, 0x0c, 0xff};
    echo_harness_request(&label.base_, sizeof label, RIID_PROBE, MID_LABEL);
    echo_harness_arena_text(&arena, buf, sizeof buf, &label.place.label, "dock");
    label.place.at.x = 7;
    label.place.at.y = 8;
    label.place.tags[0] = 1;
    label.place.tags[1] = 2;
    label.place.tags[2] = 65535;
    CHECK_EQ(NK_EOK, nk_arena_store(nk_uint8_t, &arena, &label.blob, blob, sizeof blob));
    call(&label.base_, &arena, &label_res.base_, sizeof label_res);

    /* sequence<string<16>, 4>: an array of nk_ptr_t in the arena, each
     * pointing at its string in the same arena. */
    Mark_req mark;
    U32_res mark_res;
    const char *const words[3] = {"alpha", "beta", "gamma"};
    nk_ptr_t refs[3];
    echo_harness_request(&mark.base_, sizeof mark, RIID_PROBE, MID_MARK);
    nk_arena_init(&arena, buf, buf + sizeof buf);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(NK_EOK,
                 nk_arena_store(char, &arena, &refs[i], words[i], strlen(words[i]) + 1));
    CHECK_EQ(NK_EOK, nk_arena_store(nk_ptr_t, &arena, &mark.words, refs, 3));
    mark.ends[0] = (Point){0, 0};
    mark.ends[1] = (Point){-1, 1};
    mark.token = (nk_handle_desc_t){.handle = 42, .rights = 3, .badge = 0};
    call(&mark.base_, &arena, &mark_res.base_, sizeof mark_res);
    CHECK_EQ(1, nk_msg_get_err(&mark_res));
    CHECK_EQ(MARK_ERROR, mark_res.value);

    hello(RIID_SPARE, "spare", 255, 5);

    Plain_req skip, quit;
    Plain_req plain_res;
    echo_harness_request(&skip.base_, sizeof skip, RIID_PROBE, MID_SKIP);
    call(&skip.base_, NULL, &plain_res.base_, sizeof plain_res);
    echo_harness_request(&quit.base_, sizeof quit, RIID_PROBE, MID_QUIT);
    call(&quit.base_, NULL, &plain_res.base_, sizeof plain_res);
    return NULL;
}

/* ---- checking the outputs ----------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    CHECK_EQ(0, fseek(f, 0, SEEK_END));
    long n = ftell(f);
    CHECK(n >= 0);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    CHECK(s != NULL);
    CHECK_EQ((size_t)n, fread(s, 1, (size_t)n, f));
    s[n] = 0;
    fclose(f);
    return s;
}

static void expect_all(const char *what, const char *hay, const char *const *needles, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!strstr(hay, needles[i])) {
            fprintf(stderr, "%s does not show: %s\n--- %s:\n%s\n", what, needles[i], what, hay);
            check_die();
        }
    }
}

int main(void)
{
    const char *dir = getenv("PAYLOAD_DIR");
    if (!dir || !*dir)
        dir = "build/payload-ctest";
    char path[512], spec[2048];
    mkdir("build", 0777);
    mkdir(dir, 0777);

    /* Before the shim's first use: the descriptions, payload capture and
     * the filter (read once). */
    CHECK_EQ(0, setenv("KOS_SHIM_EDL", "rt.Prober", 1));
    CHECK_EQ(0, setenv("KOS_SHIM_IDL_PATH", "ctests/idl", 1));
    CHECK_EQ(0, setenv("KOS_SHIM_TRACE_PAYLOAD", "512", 1));
    CHECK_EQ(0, setenv("KOS_SHIM_TRACE_FILTER", "Probe.*,!Probe.Skip", 1));
    unsetenv("KOS_SHIM_NAMES");
    unsetenv("KOS_SHIM_TRACE");

    /* The text trace goes to stderr: into a file for the duration. */
    snprintf(path, sizeof path, "%s/text.txt", dir);
    fflush(stderr);
    int saved = dup(2), text_fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    CHECK(saved >= 0 && text_fd >= 0);
    CHECK(dup2(text_fd, 2) == 2);
    snprintf(spec, sizeof spec, "stderr,json:%s/trace.json,file:%s/trace.kst,ctf:%s/ctf", dir,
             dir, dir);
    CHECK_RC(rcOk, kos_shim_trace_start(spec));

    Handle server_handle;
    echo_harness_channel("probe", &server_handle, &client_handle);
    echo_harness_server server = {
        .handle = server_handle,
        .req_size = sizeof(Mark_req),
        .res_size = sizeof(Label_res),
        .dispatch = dispatch,
        .ctx = NULL,
    };
    echo_harness_run_pair(&server, client, NULL);
    CHECK_RC(rcOk, kos_shim_trace_stop());
    fflush(stderr);
    CHECK(dup2(saved, 2) == 2);
    close(text_fd);
    close(saved);

    char *text = slurp(path);
    expect_all("the text trace", text, TEXT, sizeof TEXT / sizeof *TEXT);
    CHECK(strstr(text, "Skip") == NULL);
    CHECK(strstr(text, "Probe.Quit") != NULL);
    snprintf(path, sizeof path, "%s/trace.json", dir);
    char *json = slurp(path);
    expect_all("the JSON trace", json, JSON, sizeof JSON / sizeof *JSON);
    CHECK(strstr(json, "Skip") == NULL);

    snprintf(path, sizeof path, "%s/expected.txt", dir);
    FILE *e = fopen(path, "w");
    CHECK(e != NULL);
    for (size_t i = 0; i < sizeof TEXT / sizeof *TEXT; i++)
        fprintf(e, "%s\n", TEXT[i]);
    CHECK_EQ(0, fclose(e));
    free(text);
    free(json);
    printf("payload_decode: %zu decoded texts and %zu JSON params as sent, Skip filtered out\n",
           sizeof TEXT / sizeof *TEXT, sizeof JSON / sizeof *JSON);
    return 0;
}
