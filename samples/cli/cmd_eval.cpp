// patchcore eval: the published metrics (image AUROC, pixel AUROC, PRO@0.3) on MVTec-layout categories, measured in
// the working frame as the authors' evaluation does, optionally as a low-shot curve.
#include "common.hpp"

// The evaluation itself lives beside the module's tests so that the parity tests and this command measure the same.
#include "../../modules/patchcore/test/eval_harness.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>

namespace patchcore_samples {
namespace {

using patchcore_eval::Evaluation;
using patchcore_eval::Split;

struct Run
{
    std::string category, id; // id: category, plus "_shots<N>" for a low-shot run
    int shots = 0;             // 0 = every training image
    std::string mode;          // the input mode training used (INPUT_AUTO resolved), which sets the metrics' frame
    std::string engine;        // what ran the backbone for these scores (--engine, or one of --score-engines)
    std::string trainedWith;   // what ran it in training (--engine)
    Evaluation ev;
    patchcore_eval::ReferenceComparison reference;
    bool hasReference = false;
    // A run of --score-engines: the same detector re-scored with another engine, against the training engine's scores.
    patchcore_eval::ReferenceComparison vsTraining;
    bool rescored = false;
    std::vector<size_t> falseNegatives, falsePositives; // test indices, worst first
};

/** "crop", "resize", "aspect", "tiles x0.50" or "frame x0.50": the mode a trained detector uses. */
std::string modeName(const cv::patchcore::Params& p)
{
    const char* const names[] = {"crop", "resize", "aspect", "tiles", "auto", "frame"};
    std::string name = p.inputMode >= 0 && p.inputMode <= 5 ? names[p.inputMode] : "?";
    if (p.inputMode == cv::patchcore::INPUT_TILES || p.inputMode == cv::patchcore::INPUT_FRAME)
    {
        std::ostringstream s;
        s << " x" << std::fixed << std::setprecision(2) << p.tileScale;
        name += s.str();
    }
    return name;
}

std::string formatted(double v, int digits, std::ios_base& (*notation)(std::ios_base&))
{
    if (std::isnan(v))
        return "n/a";
    std::ostringstream s;
    s << notation << std::setprecision(digits) << v;
    return s.str();
}

std::string fixed(double v, int digits = 3)
{
    return formatted(v, digits, std::fixed);
}

std::string jsonNumber(double v)
{
    if (!std::isfinite(v))
        return "null";
    std::ostringstream s;
    s << std::setprecision(9) << v;
    return s.str();
}

std::string jsonString(const std::string& v)
{
    std::string out = "\"";
    for (char c : v)
        out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
    return out + "\"";
}

std::vector<int> parseShots(const std::string& s)
{
    std::vector<int> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ','))
    {
        if (item.empty())
            continue;
        const int n = std::atoi(item.c_str());
        if (n <= 0)
            CV_Error(cv::Error::StsBadArg, "--shots takes positive image counts such as 1,2,5,10, not '" + item + "'");
        out.push_back(n);
    }
    return out;
}

// Worst misses at the F1-optimal image threshold: defective images scored lowest, good images scored highest.
void findMistakes(Run& run)
{
    const Evaluation& ev = run.ev;
    if (!std::count(ev.labels.begin(), ev.labels.end(), 1))
        return;
    for (size_t i = 0; i < ev.scores.size(); ++i)
    {
        if (ev.labels[i] == 1 && ev.scores[i] < ev.f1.threshold)
            run.falseNegatives.push_back(i);
        if (ev.labels[i] == 0 && ev.scores[i] >= ev.f1.threshold)
            run.falsePositives.push_back(i);
    }
    std::sort(run.falseNegatives.begin(), run.falseNegatives.end(),
              [&ev](size_t a, size_t b) { return ev.scores[a] < ev.scores[b]; });
    std::sort(run.falsePositives.begin(), run.falsePositives.end(),
              [&ev](size_t a, size_t b) { return ev.scores[a] > ev.scores[b]; });
}

// Heat map in the image's own frame with the ground-truth outline in green, so a miss can be judged at a glance.
void writeOverlay(const cv::patchcore::Detector& det, const patchcore_eval::Sample& t, double vmax,
                  const std::string& file)
{
    const cv::Mat image = cv::imread(t.path, cv::IMREAD_UNCHANGED);
    cv::Mat map;
    det.predict(image, map);
    cv::Mat out = overlay(image, map, vmax);
    if (!t.maskPath.empty())
    {
        const cv::Mat gt = cv::imread(t.maskPath, cv::IMREAD_GRAYSCALE);
        std::vector<std::vector<cv::Point>> contours;
        if (!gt.empty() && gt.size() == out.size())
        {
            cv::findContours(gt > 127, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
            cv::drawContours(out, contours, -1, cv::Scalar(0, 255, 0), 2);
        }
    }
    cv::imwrite(file, out);
}

void writeImageCsv(const Run& run, const Split& split, const std::string& file)
{
    std::ofstream csv(file);
    csv << "image,anomaly_type,label,score,map_max,predicted_anomalous\n" << std::setprecision(9);
    for (size_t i = 0; i < split.test.size(); ++i)
        csv << split.test[i].relative << "," << split.test[i].type << "," << run.ev.labels[i] << ","
            << run.ev.scores[i] << "," << run.ev.mapMax[i] << ","
            << (run.ev.scores[i] >= run.ev.f1.threshold ? 1 : 0) << "\n";
}

// Everything a run gets once its test split is scored: the comparison with the reference CSV, its worst mistakes,
// images.csv and their overlays (drawn by `det` as it is now, i.e. with the run's engine).
void finishRun(Run& run, const cv::patchcore::Detector& det, const Split& split, const std::string& referenceCsv,
               const std::string& outDir, int overlays)
{
    if (!referenceCsv.empty())
    {
        run.reference = patchcore_eval::compareWithReference(split, run.ev,
                                                             patchcore_eval::readReferenceScores(referenceCsv));
        run.hasReference = true;
    }
    findMistakes(run);
    const std::string runDir = outDir + "/" + run.id;
    makeFolders(runDir + "/overlays");
    writeImageCsv(run, split, runDir + "/images.csv");
    const double vmax = *std::max_element(run.ev.scores.begin(), run.ev.scores.end());
    for (const bool misses : {true, false})
    {
        const std::vector<size_t>& worst = misses ? run.falseNegatives : run.falsePositives;
        for (int k = 0; k < overlays && k < static_cast<int>(worst.size()); ++k)
        {
            const auto& t = split.test[worst[k]];
            writeOverlay(det, t, vmax, runDir + "/overlays/" + (misses ? "fn" : "fp") + std::to_string(k + 1) + "_" +
                                           t.type + "_" + patchcore_eval::stem(t.path) + ".png");
        }
    }
}

/** A run's scores by image (Sample::relative), to compare another engine's with (compareWithReference). */
std::map<std::string, double> scoresByImage(const Split& split, const Evaluation& ev)
{
    std::map<std::string, double> out;
    for (size_t i = 0; i < split.test.size(); ++i)
        out[split.test[i].relative] = ev.scores[i];
    return out;
}

const char* const kMaskPolicy =
    "Metrics are computed in the working frame: every anomaly map is taken before it is mapped back to the image "
    "(Detector::predictMap(..., FRAME_WORKING)), and every mask goes through the detector's own resize and centre "
    "crop (Detector::toWorkingFrame) and counts as anomalous where > 0.5, as the authors' evaluation does. A "
    "defective image whose mask file is missing or empty keeps its image label 1 but contributes only normal pixels "
    "to pixel AUROC and PRO (the reference's data loader substitutes an all-zero mask the same way). Defective images "
    "whose defect lies wholly outside the centre crop are counted separately: they too only add normal pixels.";

void writeReport(const std::vector<Run>& runs, const cv::patchcore::Params& p, const std::string& input,
                 const std::string& trainList, const std::string& outDir)
{
    std::ofstream md(outDir + "/report.md");
    md << "# PatchCore evaluation of `" << input << "`\n\n";
    md << "Settings: model `" << p.modelPath << "`, taps";
    for (const auto& l : p.layers)
        md << " `" << l << "`";
    md << ", resize " << p.resizeSize << ", crop " << p.cropSize << ", coreset "
       << (p.coresetMethod == cv::patchcore::CORESET_NONE
               ? std::string("none")
               : std::string(p.coresetMethod == cv::patchcore::CORESET_RANDOM ? "random " : "greedy ") +
                     fixed(p.coresetRatio * 100, 1) + " %")
       << ", k " << p.k << ", metric " << (p.metric == cv::patchcore::DISTANCE_L2 ? "l2" : "l2sq") << ", reweight "
       << (p.reweight ? "on" : "off") << ", sigma " << p.sigma << ", seed " << p.seed << ", dims "
       << p.targetEmbedDim << ", bank " << (p.bankFp16 ? "fp16" : "fp32") << ", search "
       << (p.searchMethod == cv::patchcore::SEARCH_APPROXIMATE ? "approximate"
           : p.searchMethod == cv::patchcore::SEARCH_EXACT       ? "exact"
                                                                 : "auto")
       << (trainList.empty() ? "" : ", train list `" + trainList + "`") << ".\n\n";
    md << "| run | engine | train imgs | bank | test (defective) | image AUROC | pixel AUROC | PRO@0.3 | F1 | "
          "train s | predict s/img |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (const Run& r : runs)
    {
        const long defective = std::count(r.ev.labels.begin(), r.ev.labels.end(), 1);
        md << "| " << r.id << " | " << r.engine << " | " << r.ev.trainImages << " | " << r.ev.bankSize << " | "
           << r.ev.scores.size()
           << " (" << defective << ") | " << fixed(r.ev.imageAUROC) << " | " << fixed(r.ev.pixelAUROC) << " | "
           << fixed(r.ev.pro) << " | " << fixed(r.ev.f1.f1) << " | " << fixed(r.ev.trainSeconds, 1) << " | "
           << fixed(r.ev.predictSeconds) << " |\n";
    }
    md << "\n## Masks\n" << kMaskPolicy << "\n\n";
    for (const Run& r : runs)
    {
        md << "## " << r.id << "\n";
        md << "- input mode `" << r.mode << "`; metrics in "
           << (r.mode == "crop" ? "the centre-crop frame (as the reference)" : "the whole image's frame") << "\n";
        md << "- defective images without a usable mask (missing or empty file): " << r.ev.missingMasks << "\n";
        md << "- defective images with no defect pixel inside the crop: " << r.ev.masksOutOfCrop << "\n";
        md << "- F1-optimal image threshold " << jsonNumber(r.ev.f1.threshold) << ": F1 " << fixed(r.ev.f1.f1)
           << ", precision " << fixed(r.ev.f1.precision) << ", recall " << fixed(r.ev.f1.recall) << "; "
           << r.falseNegatives.size() << " false negatives, " << r.falsePositives.size()
           << " false positives (worst ones in `" << r.id << "/overlays/`)\n";
        if (r.hasReference)
            md << "- against the reference CSV: " << r.reference.matched << " images matched ("
               << r.reference.missing << " absent), Spearman " << fixed(r.reference.spearman, 4)
               << ", relative score difference: median " << jsonNumber(r.reference.medianRelativeDiff)
               << ", largest " << jsonNumber(r.reference.maxRelativeDiff) << " ("
               << r.reference.worstImage << ")\n";
        if (r.rescored)
            md << "- the detector of run " << r.category << (r.shots ? "_shots" + std::to_string(r.shots) : "")
               << " (trained with engine `" << r.trainedWith << "`) scoring with `" << r.engine << "`: Spearman "
               << fixed(r.vsTraining.spearman, 4) << " against the `" << r.trainedWith
               << "` scores, relative score difference: median " << jsonNumber(r.vsTraining.medianRelativeDiff)
               << ", largest " << jsonNumber(r.vsTraining.maxRelativeDiff) << " (" << r.vsTraining.worstImage
               << ")\n";
        md << "- per-image scores: `" << r.id << "/images.csv`\n\n";
    }
}

void writeJson(const std::vector<Run>& runs, const cv::patchcore::Params& p, const std::string& outDir)
{
    std::ofstream js(outDir + "/results.json");
    js << "{\n  \"params\": {\"model\": " << jsonString(p.modelPath) << ", \"layers\": [";
    for (size_t i = 0; i < p.layers.size(); ++i)
        js << (i ? ", " : "") << jsonString(p.layers[i]);
    js << "], \"resize\": " << p.resizeSize << ", \"crop\": " << p.cropSize << ", \"coreset\": "
       << p.coresetMethod << ", \"ratio\": " << jsonNumber(p.coresetRatio) << ", \"k\": " << p.k
       << ", \"metric\": " << p.metric << ", \"reweight\": " << (p.reweight ? "true" : "false")
       << ", \"sigma\": " << jsonNumber(p.sigma) << ", \"seed\": " << p.seed << "},\n  \"runs\": [\n";
    for (size_t i = 0; i < runs.size(); ++i)
    {
        const Run& r = runs[i];
        js << "    {\"id\": " << jsonString(r.id) << ", \"category\": " << jsonString(r.category)
           << ", \"shots\": " << r.shots << ", \"train_images\": " << r.ev.trainImages
           << ", \"mode\": " << jsonString(r.mode) << ", \"engine\": " << jsonString(r.engine)
           << ", \"trained_with\": " << jsonString(r.trainedWith) << ", \"bank\": " << r.ev.bankSize
           << ", \"test_images\": " << r.ev.scores.size()
           << ", \"image_auroc\": " << jsonNumber(r.ev.imageAUROC) << ", \"pixel_auroc\": "
           << jsonNumber(r.ev.pixelAUROC) << ", \"pro\": " << jsonNumber(r.ev.pro)
           << ", \"f1\": " << jsonNumber(r.ev.f1.f1) << ", \"f1_threshold\": " << jsonNumber(r.ev.f1.threshold)
           << ", \"false_negatives\": " << r.falseNegatives.size() << ", \"false_positives\": "
           << r.falsePositives.size() << ", \"missing_masks\": " << r.ev.missingMasks
           << ", \"masks_out_of_crop\": " << r.ev.masksOutOfCrop << ", \"train_s\": "
           << jsonNumber(r.ev.trainSeconds) << ", \"predict_s_per_image\": " << jsonNumber(r.ev.predictSeconds)
           << ", \"predict_call_s_per_image\": " << jsonNumber(r.ev.predictCallSeconds);
        if (r.hasReference)
            js << ", \"reference\": {\"matched\": " << r.reference.matched << ", \"spearman\": "
               << jsonNumber(r.reference.spearman) << ", \"median_relative_diff\": "
               << jsonNumber(r.reference.medianRelativeDiff) << ", \"max_relative_diff\": "
               << jsonNumber(r.reference.maxRelativeDiff) << "}";
        if (r.rescored)
            js << ", \"vs_training_engine\": {\"spearman\": " << jsonNumber(r.vsTraining.spearman)
               << ", \"median_relative_diff\": " << jsonNumber(r.vsTraining.medianRelativeDiff)
               << ", \"max_relative_diff\": " << jsonNumber(r.vsTraining.maxRelativeDiff) << "}";
        js << "}" << (i + 1 < runs.size() ? "," : "") << "\n";
    }
    js << "  ]\n}\n";
}

} // namespace

int commandEval(int argc, const char* const* argv)
{
    const std::string keys =
        std::string("{help h     |      | print this help }"
                    "{@input     |      | an MVTec-layout category (train/good, test/<type>, ground_truth) or a "
                    "folder of categories }"
                    "{out o      | eval | output folder }"
                    "{train-list |      | file listing the training images, one path per line relative to the "
                    "category folder (default: all of train/good) }"
                    "{shots      |      | low-shot curve: comma-separated image counts, e.g. 1,2,5,10,20,50; each "
                    "run trains on the first N training images after a shuffle seeded by --seed }"
                    "{reference  |      | the authors' per-image CSV (image,...,score_raw) to compare scores with; "
                    "one category only }"
                    "{overlays   | 5    | heat maps written for the worst false negatives and false positives }"
                    "{score-engines |   | after training with --engine, score the test split again with each of "
                    "these engines (comma-separated --engine names, e.g. onednn-bf16,opencv) on the same detector: "
                    "runs <run>@<engine>, compared with the training engine's scores (Spearman, relative "
                    "difference) }") +
        kDetectorOptions;
    cv::CommandLineParser parser(argc, argv, keys);
    parser.about("patchcore eval: image AUROC, pixel AUROC and PRO@0.3 on MVTec-layout test splits. Unknown "
                 "options, extra arguments and an output folder that cannot be written are reported before training, "
                 "with exit status 2; an unreadable image stops the evaluation with status 2, naming it.");
    if (parser.has("help"))
    {
        parser.printMessage();
        return 0;
    }
    checkArguments(argc, argv, keys, "eval");
    if (parser.get<std::string>("@input").empty())
    {
        parser.printMessage();
        return 1;
    }
    const std::string input = parser.get<std::string>("@input"), outDir = parser.get<std::string>("out");
    const std::string trainList = parser.get<std::string>("train-list");
    const std::string referenceCsv = parser.get<std::string>("reference");
    const std::vector<int> shots = parseShots(parser.get<std::string>("shots"));
    const int overlays = parser.get<int>("overlays");
    const cv::patchcore::Params params = paramsFromOptions(parser);
    const int engine = engineFromOptions(parser);
    std::vector<int> scoreEngines;
    for (const std::string& name : splitList(parser.get<std::string>("score-engines")))
        scoreEngines.push_back(parseEngine(name, "score-engines"));
    if (!parser.check())
    {
        parser.printErrors();
        return 1;
    }

    const std::vector<std::string> categories = patchcore_eval::findCategories(input);
    if (!referenceCsv.empty() && categories.size() != 1)
        CV_Error(cv::Error::StsBadArg, "--reference compares one category; '" + input + "' holds " +
                                           std::to_string(categories.size()));
    if (!trainList.empty() && categories.size() != 1)
        CV_Error(cv::Error::StsBadArg, "--train-list names the images of one category; '" + input + "' holds " +
                                           std::to_string(categories.size()));
    makeWritableFolder(outDir);

    std::vector<Run> runs;
    for (const std::string& root : categories)
    {
        const Split split = patchcore_eval::loadSplit(root, trainList);
        const std::string name = patchcore_eval::baseName(root);
        std::vector<int> counts = shots.empty() ? std::vector<int>{0} : shots;
        for (int n : counts)
        {
            Run run;
            run.category = name;
            run.shots = n;
            run.id = n ? name + "_shots" + std::to_string(n) : name;
            const std::vector<std::string> trainPaths =
                n ? patchcore_eval::seededSubset(split.train, static_cast<size_t>(n), params.seed) : split.train;
            if (n > static_cast<int>(split.train.size()))
                std::cerr << "note: " << name << " has only " << split.train.size() << " training images, not " << n
                          << "\n";
            std::cerr << "[" << run.id << "] training on " << trainPaths.size() << " images, testing on "
                      << split.test.size() << "\n";
            std::string lastStage;
            Stopwatch sinceStart;
            double lastPrint = -1;
            const auto progress = [&](const std::string& stage, int done, int total) {
                // One updating line per stage, at most twice a second so that logs of long runs stay short.
                const bool newStage = stage != lastStage;
                if (!newStage && done != total && sinceStart.seconds() - lastPrint < 0.5)
                    return;
                if (newStage && !lastStage.empty())
                    std::cerr << "\n";
                lastStage = stage;
                lastPrint = sinceStart.seconds();
                std::cerr << "\r  " << stage << ": " << done << " / " << total << " (" << std::fixed
                          << std::setprecision(0) << lastPrint << " s)" << std::flush;
            };
            cv::Ptr<cv::patchcore::Detector> det =
                patchcore_eval::trainAndEvaluate(params, split, trainPaths, run.ev, false, progress, engine);
            std::cerr << "\n";
            run.mode = modeName(det->getParams());
            run.engine = run.trainedWith = engineName(engine);
            finishRun(run, *det, split, referenceCsv, outDir, overlays);
            const std::map<std::string, double> trainedScores = scoresByImage(split, run.ev);
            std::vector<Run> rescored;
            for (int other : scoreEngines)
            {
                Run again;
                again.category = name;
                again.shots = n;
                again.mode = run.mode;
                again.engine = engineName(other);
                again.trainedWith = run.trainedWith;
                again.id = run.id + "@" + again.engine;
                det->setBackboneEngine(other);
                std::cerr << "[" << again.id << "] scoring again with " << det->getBackboneEngine() << "\n";
                patchcore_eval::scoreTestSplit(*det, split, again.ev, false, progress);
                std::cerr << "\n";
                again.ev.trainImages = run.ev.trainImages;
                again.ev.bankSize = run.ev.bankSize;
                again.ev.trainSeconds = std::numeric_limits<double>::quiet_NaN(); // "n/a": not trained again
                again.vsTraining = patchcore_eval::compareWithReference(split, again.ev, trainedScores);
                again.rescored = true;
                finishRun(again, *det, split, referenceCsv, outDir, overlays);
                rescored.push_back(std::move(again));
            }
            runs.push_back(std::move(run));
            std::move(rescored.begin(), rescored.end(), std::back_inserter(runs));
        }
    }
    writeReport(runs, params, input, trainList, outDir);
    writeJson(runs, params, outDir);

    std::cout << std::left << std::setw(28) << "run" << std::setw(13) << "mode" << std::setw(13) << "engine"
              << std::right << std::setw(7) << "train" << std::setw(8)
              << "bank" << std::setw(10) << "img AUROC" << std::setw(10) << "pix AUROC" << std::setw(8) << "PRO"
              << std::setw(8) << "F1" << std::setw(9) << "train s" << std::setw(8) << "s/img";
    if (!referenceCsv.empty())
        std::cout << std::setw(10) << "Spearman" << std::setw(10) << "med rel" << std::setw(10) << "max rel";
    // Against the scores of the engine the detector was trained with.
    if (!scoreEngines.empty())
        std::cout << std::setw(12) << "rho/train" << std::setw(12) << "rel/train";
    std::cout << "\n";
    for (const Run& r : runs)
    {
        std::cout << std::left << std::setw(28) << r.id << std::setw(13) << r.mode << std::setw(13) << r.engine
                  << std::right << std::setw(7)
                  << r.ev.trainImages
                  << std::setw(8) << r.ev.bankSize << std::setw(10) << fixed(r.ev.imageAUROC) << std::setw(10)
                  << fixed(r.ev.pixelAUROC) << std::setw(8) << fixed(r.ev.pro) << std::setw(8) << fixed(r.ev.f1.f1)
                  << std::setw(9) << fixed(r.ev.trainSeconds, 1) << std::setw(8) << fixed(r.ev.predictSeconds);
        if (r.hasReference)
            std::cout << std::setw(10) << fixed(r.reference.spearman, 4) << std::setw(10)
                      << formatted(r.reference.medianRelativeDiff, 1, std::scientific) << std::setw(10)
                      << formatted(r.reference.maxRelativeDiff, 1, std::scientific);
        if (r.rescored)
            std::cout << std::setw(12) << fixed(r.vsTraining.spearman, 5) << std::setw(12)
                      << formatted(r.vsTraining.maxRelativeDiff, 2, std::scientific);
        std::cout << "\n";
    }
    std::cout << "wrote " << outDir << "/report.md, " << outDir << "/results.json, <run>/images.csv, <run>/overlays/\n";
    return 0;
}

} // namespace patchcore_samples
