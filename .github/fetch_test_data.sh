#!/usr/bin/env bash
# Build the test-data tree that the test suite reads through ATOMGENBENCH_DATA, on a
# machine without the shared data mirror (GitHub Actions). Same layout as the mirror:
#   jarvis_leaderboard/benchmarks/AI/AtomGen/*.json.zip, jarvis/, alexandria/
#       -> `atomgenbench data fetch --all` (pinned upstream files, sha256-verified)
#   jarvis_leaderboard/contributions/<name>/   atomgptlab/jarvis_leaderboard @ 7fbfa84a
#   legacy_2023/jarvis_leaderboard/            usnistgov/jarvis_leaderboard @ df2f940d
# Every downloaded contribution file is checked against the sha256 listed below.
# Usage: fetch_test_data.sh DEST     (DRY_RUN=1 prints "path url" lines and downloads nothing)
set -euo pipefail
DEST=${1:?usage: fetch_test_data.sh DEST}
CURRENT=https://raw.githubusercontent.com/atomgptlab/jarvis_leaderboard/7fbfa84ad19c95873112fc572ef877d7e349a3f3/jarvis_leaderboard
LEGACY=https://raw.githubusercontent.com/usnistgov/jarvis_leaderboard/df2f940ddba4564a9a068fcf2e87cbfc81c7661d/jarvis_leaderboard

if [ -z "${DRY_RUN:-}" ]; then
  mkdir -p "$DEST"
  ATOMGENBENCH_CACHE="$DEST" atomgenbench data fetch --all
fi

while read -r sha path; do
  case "$path" in
    legacy_2023/jarvis_leaderboard/contributions/*) url="$LEGACY/${path#legacy_2023/jarvis_leaderboard/}" ;;
    legacy_2023/jarvis_leaderboard/*) url="$LEGACY/benchmarks/AI/AtomGen/${path##*/}" ;;
    jarvis_leaderboard/*) url="$CURRENT/${path#jarvis_leaderboard/}" ;;
    *) echo "unexpected path $path" >&2; exit 1 ;;
  esac
  if [ -n "${DRY_RUN:-}" ]; then
    echo "$path $url"
    continue
  fi
  mkdir -p "$DEST/$(dirname "$path")"
  curl -fsSL --retry 3 -o "$DEST/$path" "$url"
  echo "$sha  $DEST/$path" | sha256sum -c --quiet -
done <<'MANIFEST'
43b13b7ce3685477b6beae94dba398e7b1ddc24a971f54937ba9d5667096a347 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip
6920b2c1cb28f40b4e47365a75404eb46d29f4cf008258f79d59db9efd105da7 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_a-alex_supercon-test-mae.csv.zip
ae5d41c3b69c8ff732c19711d9ca61daf385aa75d0fabc3b49ab3605585bc573 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_alpha-alex_supercon-test-mae.csv.zip
73fd489a7a9ae5fa90d9e559f29388c1eb2437dfacd66a0890ea0bda3e701306 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_b-alex_supercon-test-mae.csv.zip
78ef0283f42ca0c1f74da5e88e7d1a0332048dc7a56b5a72fcfa9bd444384215 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_beta-alex_supercon-test-mae.csv.zip
03bc0f6acc059cb932f3f64918e9a694c62e18d13569dd9a3e86aeaf7796a630 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_c-alex_supercon-test-mae.csv.zip
46a5e0a174b27e840fdaeff6ec15037a0dbedea9934aca0547846f16887a8879 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_gamma-alex_supercon-test-mae.csv.zip
4b0f00d53ac349a8cab6f6c8051fc0ff913ef748a7f854a23d06571f88214908 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip
ffc9286b13e4f39f4b36f0650ba18ff3708a8d0ee772d71bf333ec5fb2d4862c jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon_a-dft_3d-test-mae.csv.zip
381e32078632a0c4d6a0300a267c13dfcc3885d76dd9f627abb0584068769a5f jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon_alpha-dft_3d-test-mae.csv.zip
63f3c8bc012d360e1f622fbf322d7f67f1c4e2fc134a24a62ac98cede03d0d0a jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon_b-dft_3d-test-mae.csv.zip
d406e6d1fd068dae6c360e447dc1c954279c59883a203921b323bac06b5f6c56 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon_beta-dft_3d-test-mae.csv.zip
241046dbad0a35d290bf8a097e88f3a609589c0d243608efbe950c95fb27c0a5 jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon_c-dft_3d-test-mae.csv.zip
6909ff26ad0d4a5e83fa81714c1f1664c1e73f934f60f9919048171684f8267c jarvis_leaderboard/contributions/atomgpt_invatoms/AI-AtomGen-Tc_supercon_gamma-dft_3d-test-mae.csv.zip
af8b51ad842f5cab21f3392fd00719ea3a5f33178e965d597ad9fb2bd70c3baa jarvis_leaderboard/contributions/atomgpt_invatoms/metadata.json
573f876ca9ea7fa41353a77109a6929b77b520a437b652ffaabfa2afa76c09fc jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip
22ca412e4ae85e7c3d130ed9e7889ad68b0b91b574e1cb1e7753549ffa389c11 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_a-alex_supercon-test-mae.csv.zip
38ae85e0503c56fafaa68fb68ca0c5b6af48e5f8e1467a6886873b0110da7258 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_alpha-alex_supercon-test-mae.csv.zip
f48b410418cb4f65eaac58beb4af666417c329561d22408dffecfaccd0959cd6 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_b-alex_supercon-test-mae.csv.zip
ed76c7b25ebe468d7b8651203df6ba5a7ae760d5bef5f38e2a6c20b7a3d4ac61 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_beta-alex_supercon-test-mae.csv.zip
91c3834a086b54e53e065742f10f6678b00edfe2c2b303a7962b1be1a0290ab8 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_c-alex_supercon-test-mae.csv.zip
ca671395b755d79220dd1d2efc1a858c5af483bcadf2ed0d7e0f7d6e1276b914 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_gamma-alex_supercon-test-mae.csv.zip
f0bf7696847a1b1fe2cb957ed3303631bcd6574d8d75baefc5097ff63e9e45db jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip
0a61704e391eecb66115bca03b4c3b10654c1d520b518a0c38f1d246fe168fc8 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_supercon_a-dft_3d-test-mae.csv.zip
d4b81ba00c6c41840c76553843c510bc64833101b9d201468ac863d91c1c7227 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_supercon_alpha-dft_3d-test-mae.csv.zip
ed3eaa79c79f73960eb927027e9e8146b9a1531faa0151c7016ec29635d153df jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_supercon_b-dft_3d-test-mae.csv.zip
806da798e69ed421e64114780cb128909fbd21130a2f42bc708512509a47fc39 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_supercon_beta-dft_3d-test-mae.csv.zip
615c6175d8f3116cb04ea4a0ae9c97186342435eef5a8a6907bd9f19a339dfd3 jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_supercon_c-dft_3d-test-mae.csv.zip
a1353856e7276ee26b09094154d36520ad2dafc1b25851964186546311fe056b jarvis_leaderboard/contributions/cdvae_invatoms/AI-AtomGen-Tc_supercon_gamma-dft_3d-test-mae.csv.zip
854626f1e2643cd9001544093d4d4173ab0f7c1b41b7b67df4b7dd4431c66a9e jarvis_leaderboard/contributions/cdvae_invatoms/metadata.json
a11ade5926b5613180cbbec6f2c5493c6ba38afb34b1435263627ab1a273857f jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc-alex_supercon-test-rmse.csv.zip
a5339ebd9074b790275a877e82648ae0ff7fbbc390ac7758e23dcd1fce263353 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_a-alex_supercon-test-mae.csv.zip
9b0acdc6917e1acd8fd3de68034515a6db32914c5a73f520cfa484b16c0e7003 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_alpha-alex_supercon-test-mae.csv.zip
767edd6870500161e2caee82e0486f67f0d1cda572de6d347c3cccf006f1b5cb jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_b-alex_supercon-test-mae.csv.zip
09e95aea01d8c0f6a3741bf48065b581898843c08817e95ad174ccc3240bc982 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_beta-alex_supercon-test-mae.csv.zip
b394f649b7f5a4bb25238593a8c00d14951703603a82bfe689fe46672fb1dddb jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_c-alex_supercon-test-mae.csv.zip
9143cd381609f4c806b02ceeed1ff6b7516792bab017ef606c362f5ed86807e3 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_gamma-alex_supercon-test-mae.csv.zip
39dbfb17113dc8db01f4389d7d2a328594fdd6216b2acc58be55786609ffe62f jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip
d106f2506b6560caa812de23e22d3e20b8f8b9709abecf0781eea119360fbb31 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_supercon_a-dft_3d-test-mae.csv.zip
5014dd7eab6a3955682194c9fd849b8525f334ccd33b6a3065c01d0593cb847f jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_supercon_alpha-dft_3d-test-mae.csv.zip
06ec40340abf5997632b917cc96e28169fed39744a0e6fa3d45d518f71333f33 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_supercon_b-dft_3d-test-mae.csv.zip
f9bed9ea7d8a09bbc6d2cadd9b0eb8129ac5cf86925f22895c20510a975cc100 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_supercon_beta-dft_3d-test-mae.csv.zip
108f4cc68a9d05ae587a4480f5bb1e9520474a689292c1b61b132b3defe93d32 jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_supercon_c-dft_3d-test-mae.csv.zip
f2b09b36bef1cff2585da134ccb0192cb1a028d02b3bff1023363a6b57e38e7a jarvis_leaderboard/contributions/flowmm_invatoms/AI-AtomGen-Tc_supercon_gamma-dft_3d-test-mae.csv.zip
b6bb54e25a2fa31a08348b9c9dabb2bc10600d8b7ce690777f9aa8bd827b9487 jarvis_leaderboard/contributions/flowmm_invatoms/metadata.json
72eb840bbd45248372b677d055e3b93f40f1313aacf4b1e937fe1eb31657e445 legacy_2023/jarvis_leaderboard/contributions/atomgpt_model/AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip
24ae0292fc00e8fcb5970d028432ff24be423d6bbf33f83d197b12918a4c1684 legacy_2023/jarvis_leaderboard/contributions/atomgpt_model/AI-AtomGen-energy_per_atom-carbon24-test-rmse.csv.zip
57835a19a8664ddd84fb67cd8fd550d828048a868d5cf499a4e92b3068e5842a legacy_2023/jarvis_leaderboard/contributions/atomgpt_model/metadata.json
429284b69a78346c97d92697053f9015c1ac2a613f7441e68c9b9dd37568efbb legacy_2023/jarvis_leaderboard/contributions/cdvae_model/AI-AtomGen-Tc_supercon-dft_3d-test-rmse.csv.zip
f76778730aee1e5d25f82ef76ca79a324ce55b10e78621784142e24700c84d9a legacy_2023/jarvis_leaderboard/contributions/cdvae_model/AI-AtomGen-energy_per_atom-carbon24-test-rmse.csv.zip
9fd1a12d5cd15b204f773f1e49223d23b21247013d0aaa627e8c0d09e2e9970e legacy_2023/jarvis_leaderboard/contributions/cdvae_model/AI-AtomGen-heat_ref-perov5-test-rmse.csv.zip
a1ec4e3563c1920b36e7e62daadf06db76d6dc48e5362b89b5aaa4a297653c0a legacy_2023/jarvis_leaderboard/contributions/cdvae_model/metadata.json
dcbe3bfedf21a66dd8b4c02589659f1ba6e25bf0fd1e805e358f02a4c2c6b615 legacy_2023/jarvis_leaderboard/dft_3d_Tc_supercon.json.zip
MANIFEST
