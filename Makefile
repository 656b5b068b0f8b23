# Spectra: build the nginx module, the nginx-free core, spectra-dataapi and
# the unit tests; run the local stack and the test suites.
#
# BUILD may point elsewhere so that several trees can be built side by side.

BUILD      ?= build
NGINX_SRC  ?= /usr/share/nginx/src
CC         ?= cc

CORE_PKGS    = openssl jansson libcurl sqlite3 expat
TOOL_PKGS    = libjwt
DATAAPI_PKGS = openssl jansson libmicrohttpd libpq zlib libzstd

WARN    = -Wall -Wextra -Wpointer-arith -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wno-unused-parameter -Werror
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c99 -D_DEFAULT_SOURCE -D_GNU_SOURCE -fPIC $(WARN) \
             $(CFLAGS) -Isrc $(shell pkg-config --cflags $(CORE_PKGS))

CORE_SRCS  = $(wildcard src/spectra_*.c)
CORE_OBJS  = $(CORE_SRCS:src/%.c=$(BUILD)/core/%.o)
# libpg_query has no pkg-config file; it carries the protobuf-c runtime
# itself (link no -lprotobuf-c next to it: the symbols would clash).
# The Parquet writer's page codecs: libsnappy (no pkg-config file) and
# libzstd; the nginx module does not build the writer (config).
CORE_LIBS  = $(shell pkg-config --libs $(CORE_PKGS)) -lpg_query -lm \
             -lsnappy $(shell pkg-config --libs libzstd)

DATAAPI_SRCS = $(wildcard src/dataapi/*.c)
DATAAPI_OBJS = $(DATAAPI_SRCS:src/dataapi/%.c=$(BUILD)/dataapi/%.o)
DATAAPI_LIBS = $(shell pkg-config --libs $(DATAAPI_PKGS)) -lpthread -lm

TOOL_SRCS  = $(wildcard src/tools/*.c)
TOOLS      = $(TOOL_SRCS:src/tools/%.c=$(BUILD)/%)

UNIT_SRCS  = $(wildcard t/unit/test_*.c)
UNIT_BINS  = $(UNIT_SRCS:t/unit/%.c=$(BUILD)/unit/%)
UNIT_LIBS  = $(shell pkg-config --libs check) $(CORE_LIBS)

MODULE_SRCS = $(wildcard ngx_spectra_module/*.c ngx_spectra_module/*.h \
                         src/spectra_*.c src/spectra_*.h)
MODULE      = $(BUILD)/ngx_spectra_module.so

.PHONY: all module core dataapi tools unit test run stop reload soak deps lint \
        clean fuzz bench

all: module core dataapi tools

module: $(MODULE)
core: $(BUILD)/libspectra.a
dataapi: $(BUILD)/spectra-dataapi
tools: $(TOOLS)

deps:
	bash scripts/deps.sh

# Configure against Debian's nginx-dev with Debian's own flags, so that the
# module is binary compatible with /usr/sbin/nginx (--with-compat).  The
# addon script lists every source: editing it means configuring again.
$(BUILD)/nginx/Makefile: config scripts/configure-nginx.sh
	bash scripts/configure-nginx.sh "$(CURDIR)" "$(abspath $(BUILD))/nginx"

# docs/openapi.json, embedded for GET /v1/openapi.json (configure writes
# it first; this keeps it current when only the document changed).
$(BUILD)/nginx/ngx_http_spectra_openapi_json.h: docs/openapi.json \
		scripts/embed-openapi.sh $(BUILD)/nginx/Makefile
	sh scripts/embed-openapi.sh docs/openapi.json $@

# nginx names the shared object after the first module in it.
$(MODULE): $(BUILD)/nginx/Makefile $(MODULE_SRCS) \
		$(BUILD)/nginx/ngx_http_spectra_openapi_json.h
	$(MAKE) -s -f "$(abspath $(BUILD))/nginx/Makefile" -C $(NGINX_SRC) modules
	cp $(BUILD)/nginx/ngx_http_spectra_module.so $@.tmp
	mv -f $@.tmp $@

$(BUILD)/core/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libspectra.a: $(CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/dataapi/%.o: src/dataapi/%.c $(wildcard src/*.h src/dataapi/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -pthread \
		$(shell pkg-config --cflags $(DATAAPI_PKGS)) -c -o $@ $<

$(BUILD)/spectra-dataapi: $(DATAAPI_OBJS) $(BUILD)/libspectra.a
	$(CC) $(CFLAGS) -pthread -o $@ $(DATAAPI_OBJS) $(BUILD)/libspectra.a \
		$(DATAAPI_LIBS) $(CORE_LIBS)

$(BUILD)/%: src/tools/%.c $(BUILD)/libspectra.a
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags $(TOOL_PKGS)) -o $@ $< \
		$(BUILD)/libspectra.a $(CORE_LIBS) \
		$(shell pkg-config --libs $(TOOL_PKGS))

$(BUILD)/unit/%: t/unit/%.c $(BUILD)/libspectra.a $(wildcard t/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags check) -It/unit \
		-o $@ $< $(BUILD)/libspectra.a $(UNIT_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done

test:
	bash scripts/test.sh

run:
	bash scripts/run.sh

# Every benchmark of bench/ on a fresh local stack; writes bench/RESULTS.md
# and its charts (bench/README.md "make bench"). Not a test.
bench:
	BUILD="$(BUILD)" bash bench/run.sh

# a bounded mixed load on the local stack for SOAK_SECONDS (default 600);
# writes bench/SOAK.md (scripts/soak.sh). Not a test.
soak:
	BUILD="$(BUILD)" bash scripts/soak.sh

stop:
	bash scripts/stop.sh

reload:
	bash scripts/reload.sh

lint:
	bash scripts/lint.sh

# every fuzz target for FUZZ_SECONDS (default 600) each; make test runs
# them briefly (scripts/fuzz.sh)
fuzz:
	bash scripts/fuzz.sh run

clean:
	rm -rf $(BUILD)
