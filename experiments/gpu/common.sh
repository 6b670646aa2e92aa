# Set-up shared by the GPU scripts (sourced from the repository root): the output
# folder, the package and data paths, the log file.
set -u
OUT=${OUT:?set OUT to an output folder}
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
export GRAPHCLUST_DATA=${GRAPHCLUST_DATA:-gpu_payload/data}
export GRAPHCLUST_CACHE=${GRAPHCLUST_CACHE:-/tmp/graphclust-cache}
LOG=$OUT/log.txt
