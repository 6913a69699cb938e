# The README test (issue 16): the README's runnable commands work in a fresh
# clone, and every link between README.md and docs/ leads somewhere.
#
#   make readme-test   scripts/readme-test.sh: checks the links, then runs each
#                      ```sh run block of README.md with bash -euo pipefail at
#                      the top of a `git clone` of HEAD (committed files only;
#                      the crate is compiled there, its dependencies are
#                      reused from target/readme-test)
#   make readme-links  the link check alone (seconds)

.PHONY: readme-test readme-links
TEST_TARGETS += readme-test

readme-test: $(SETUP_STAMP)
	bash scripts/readme-test.sh

readme-links:
	bash scripts/readme-test.sh --links-only
