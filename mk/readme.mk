# The README test (issue 16): the README's runnable commands work in a fresh
# clone, and every link between README.md and docs/ leads somewhere.
#
#   make readme-test   scripts/readme-test.sh: checks the links, then runs each
#                      ```sh run block of README.md with bash -euo pipefail at
#                      the top of a `git clone` of HEAD (committed files only;
#                      the crate is compiled there, its dependencies are
#                      reused from target/readme-test)
#   make readme-links  the link check alone (seconds)
#   make readme-timeline  docs/images/echo-timeline.svg, the README's picture
#                      of a trace: `make demo`, its .kst exported to JSON,
#                      drawn by scripts/trace-timeline.py (not part of make test)

.PHONY: readme-test readme-links readme-timeline
TEST_TARGETS += readme-test

readme-test: $(SETUP_STAMP)
	bash scripts/readme-test.sh

readme-links:
	bash scripts/readme-test.sh --links-only

readme-timeline: demo
	target/release/kos-ipc-trace export --format json $(DEMO_DIR)/echo.kst $(DEMO_DIR)/echo.json
	python3 scripts/trace-timeline.py $(DEMO_DIR)/echo.json docs/images/echo-timeline.svg \
	    --title "make demo: the echo example's trace (build/demo/echo.kst, exported to JSON)"
