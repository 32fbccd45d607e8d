# The two set-up commands (README.md, "Set up"): `make pipeline` runs the main job, `make test` the test suite
# (`make test-fast`: the inner loop, tests not marked slow).
# Both create the virtualenv at .venv from the pinned requirements on first use.
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: pipeline test test-fast venv serve-venv report remote push exps

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# --pull: whatever the default remote already holds (outputs of unchanged stages, and the
# run-cache of stages someone ran with these exact deps and params) is restored instead of
# recomputed; with no remote reachable, or an empty one, everything is computed here.
# Search, the web page, legal-check and score of a catalog photo on a built index (e.g. from `dvc get`),
# no torch, TensorFlow or training libraries: the hashed serve lock into .venv-serve (then .venv-serve/bin/imagesearch ...).
serve-venv: .venv-serve/.installed

.venv-serve/.installed: requirements-serve.txt pyproject.toml
	test -x .venv-serve/bin/python || python3.11 -m venv .venv-serve || python3 -m venv .venv-serve
	.venv-serve/bin/python -m pip install --quiet --upgrade pip
	.venv-serve/bin/python -m pip install --quiet --require-hashes -r requirements-serve.txt
	.venv-serve/bin/python -m pip install --quiet --no-deps -e .
	touch $@

# A default remote that is a folder which does not exist (the project's own `localdir` before a
# teammate has pushed to it) is skipped in one line instead of DVC's warning per stage.
pipeline: venv
	@remote=$$(dvc remote default 2>/dev/null); url=$$(dvc config "remote.$$remote.url" 2>/dev/null); \
	case "$$url" in \
	  ""|*://*) pull=--pull ;; \
	  /*) if [ -d "$$url" ]; then pull=--pull; fi ;; \
	  *) if [ -d ".dvc/$$url" ]; then pull=--pull; fi ;; \
	esac; \
	if [ -n "$$url" ] && [ -z "$$pull" ]; then \
	  echo "DVC remote '$$remote' ($$url) does not exist yet: computing everything here (make remote sets up a shared one)"; \
	fi; \
	echo "dvc repro $$pull"; dvc repro $$pull

# The review report: working tree against BASE (default main, or HEAD~1 without main).
report: venv
	$(PY) -m imagesearch.review $(if $(BASE),--base $(BASE)) --out report.md

# Point the project at the team's shared remote (S3, SSH or a shared folder); commit .dvc/config.
#   make remote URL=s3://bucket/imagesearch [ENDPOINT=https://minio.example:9000]
remote: venv
	@test -n "$(URL)" || { echo "usage: make remote URL=s3://bucket/path | ssh://host/path | /shared/folder [ENDPOINT=url]"; exit 2; }
	dvc remote add --force --default team $(URL)
	$(if $(ENDPOINT),dvc remote modify team endpointurl $(ENDPOINT))
	@echo "now: dvc repro, git add .dvc/config dvc.lock metrics && git commit -m 'the team remote', then make push"

# Upload the data and the run-cache, so a teammate's `make pipeline` restores instead of recomputing.
push: venv
	@git diff --quiet HEAD -- dvc.lock 2>/dev/null || echo "dvc.lock has uncommitted changes: teammates get these outputs once you commit it (the run-cache goes up either way)"
	dvc push --run-cache

test: venv
	$(PY) -m pytest -q

test-fast: venv
	$(PY) -m pytest -q -m "not slow"

# The experiments table: changed params and the headline metrics (docs/team.md, "Reading experiments").
exps: venv
	$(VENV)/bin/dvc exp show --only-changed --drop 'Created|.*/' --no-pager
