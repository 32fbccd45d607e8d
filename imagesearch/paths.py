"""Where every pipeline artifact lives; dvc.yaml declares the same paths."""
from pathlib import Path

PARAMS = Path("params.yaml")
DVC_YAML = Path("dvc.yaml")
DVC_LOCK = Path("dvc.lock")
DATASET_CHECKSUMS = Path("data/dataset.sha256")
RAW = Path("data/raw")

CLEAN = Path("data/clean")
IMAGES = CLEAN / "images.parquet"
CAPTIONS = CLEAN / "captions.parquet"
TRAIN_PAIRS = CLEAN / "train_pairs.parquet"
EXPERT = CLEAN / "expert.parquet"
CROWD = CLEAN / "crowd.parquet"
TEST_QUERIES = CLEAN / "test_queries.parquet"
QUARANTINE = CLEAN / "quarantine.csv"

LABELLED_PAIRS = Path("data/labels/pairs.parquet")

LEGAL = Path("data/legal")
ALLOWED_PAIRS = LEGAL / "train_pairs.parquet"
BLOCKED_IMAGES = LEGAL / "blocked_images.parquet"
BLOCKED_QUERIES = LEGAL / "blocked_queries.parquet"
VISUAL_CLASSIFIER = LEGAL / "visual_classifier.joblib"
CROSSLINGUAL_RULE = LEGAL / "crosslingual_rule.json"

FEATURES = Path("data/features")
IMAGE_VECTORS = FEATURES / "images.npz"
TEXT_VECTORS = FEATURES / "texts.npz"
TEXT_ENCODER = FEATURES / "text_encoder"
QUERY_ALIGNER = FEATURES / "query_aligner"  # multilingual USE -> the text encoder's space
RUSSIAN_QUERY_VECTORS = FEATURES / "texts_ru.npz"  # the Russian test queries, mapped

TRANSLATIONS = Path("data/translations")  # hand translations written for this project (in git)
RUSSIAN_QUERIES = TRANSLATIONS / "test_queries_ru.tsv"
RUSSIAN_TRAIN_CAPTIONS = TRANSLATIONS / "train_captions_ru.tsv"

MODEL = Path("data/model")
RAW_MODEL = Path("data/model_raw")  # the ablation: XGBoost on raw vectors, no joint space
OOF = Path("data/train/oof.parquet")
INDEX = Path("data/index")
INDEX_VISUAL_CLASSIFIER = "visual_classifier.joblib"  # the legal stage's classifier, copied into the index
INDEX_CROSSLINGUAL_RULE = "crosslingual_rule.json"  # the legal stage's second text line, copied in
INDEX_QUERY_ALIGNER = "query_aligner"  # copied in: non-English queries
INDEX_TWO_STAGE = "two_stage"  # FAISS candidates + compact image side, for large catalogs
INDEX_PHOTO_VERDICTS = "photo_verdicts.parquet"  # sha256 + blocked of every photo the pipeline saw

METRICS = Path("metrics")
DATA_QUALITY = METRICS / "data_quality.json"
LABELS_METRICS = METRICS / "labels.json"
LEGAL_METRICS = METRICS / "legal.json"
LEGAL_BLOCKED = METRICS / "legal_blocked.csv"
CV_METRICS = METRICS / "cv.json"  # the headline (imagesearch/modeling/headline.py); detail below
TEST_METRICS = METRICS / "test.json"
ALIGNMENT_METRICS = METRICS / "alignment.json"
DETAIL = METRICS / "detail"  # full reports, not declared as metrics: dvc metrics diff --targets
CV_DETAIL = DETAIL / "cv.json"
TEST_DETAIL = DETAIL / "test.json"
ABLATION = DETAIL / "ablation.json"
PLOTS = METRICS / "plots"
CV_ROC = PLOTS / "cv_roc.csv"
CV_PRECISION_RECALL = PLOTS / "cv_precision_recall.csv"
RECALL_AT_K = PLOTS / "recall_at_k.csv"
GALLERY = PLOTS / "gallery.png"
TRAINING_CURVE = METRICS / "training"  # DVCLive: plots/metrics/{train,validation}/rmse.tsv, metrics.json
