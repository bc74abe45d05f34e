"""The three official AtomGenBench contributions of the pinned leaderboard revision.

``atomgenbench data fetch --contributions`` fetches the AtomBench authors' contribution
folders (AtomGPT, CDVAE, FlowMM: 14 csv.zip files and metadata.json each) from
``atomgptlab/jarvis_leaderboard`` at :data:`~atomgenbench.core.versions.LEADERBOARD_COMMIT`
through the data layer (mirror, cache, or a download verified by sha256 before it
enters the cache), so that an external group can validate, score and compare against
the real files. Their ``run.sh`` (a SLURM script upstream) has no pinned checksum
here and is not fetched; ``validate`` therefore reports it missing.
"""

from __future__ import annotations

from atomgenbench.benchmarks.atomgen.sources import DataFile

CONTRIBUTIONS_DIR = "jarvis_leaderboard/contributions"

#: contribution -> file (``AI-AtomGen-<key>.csv.zip``, or metadata.json) -> sha256 at the pinned commit
CONTRIBUTION_SHA256: dict[str, dict[str, str]] = {
    "atomgpt_invatoms": {
        "Tc-alex_supercon-test-rmse": "43b13b7ce3685477b6beae94dba398e7b1ddc24a971f54937ba9d5667096a347",
        "Tc_a-alex_supercon-test-mae": "6920b2c1cb28f40b4e47365a75404eb46d29f4cf008258f79d59db9efd105da7",
        "Tc_alpha-alex_supercon-test-mae": "ae5d41c3b69c8ff732c19711d9ca61daf385aa75d0fabc3b49ab3605585bc573",
        "Tc_b-alex_supercon-test-mae": "73fd489a7a9ae5fa90d9e559f29388c1eb2437dfacd66a0890ea0bda3e701306",
        "Tc_beta-alex_supercon-test-mae": "78ef0283f42ca0c1f74da5e88e7d1a0332048dc7a56b5a72fcfa9bd444384215",
        "Tc_c-alex_supercon-test-mae": "03bc0f6acc059cb932f3f64918e9a694c62e18d13569dd9a3e86aeaf7796a630",
        "Tc_gamma-alex_supercon-test-mae": "46a5e0a174b27e840fdaeff6ec15037a0dbedea9934aca0547846f16887a8879",
        "Tc_supercon-dft_3d-test-rmse": "4b0f00d53ac349a8cab6f6c8051fc0ff913ef748a7f854a23d06571f88214908",
        "Tc_supercon_a-dft_3d-test-mae": "ffc9286b13e4f39f4b36f0650ba18ff3708a8d0ee772d71bf333ec5fb2d4862c",
        "Tc_supercon_alpha-dft_3d-test-mae": "381e32078632a0c4d6a0300a267c13dfcc3885d76dd9f627abb0584068769a5f",
        "Tc_supercon_b-dft_3d-test-mae": "63f3c8bc012d360e1f622fbf322d7f67f1c4e2fc134a24a62ac98cede03d0d0a",
        "Tc_supercon_beta-dft_3d-test-mae": "d406e6d1fd068dae6c360e447dc1c954279c59883a203921b323bac06b5f6c56",
        "Tc_supercon_c-dft_3d-test-mae": "241046dbad0a35d290bf8a097e88f3a609589c0d243608efbe950c95fb27c0a5",
        "Tc_supercon_gamma-dft_3d-test-mae": "6909ff26ad0d4a5e83fa81714c1f1664c1e73f934f60f9919048171684f8267c",
        "metadata.json": "af8b51ad842f5cab21f3392fd00719ea3a5f33178e965d597ad9fb2bd70c3baa",
    },
    "cdvae_invatoms": {
        "Tc-alex_supercon-test-rmse": "573f876ca9ea7fa41353a77109a6929b77b520a437b652ffaabfa2afa76c09fc",
        "Tc_a-alex_supercon-test-mae": "22ca412e4ae85e7c3d130ed9e7889ad68b0b91b574e1cb1e7753549ffa389c11",
        "Tc_alpha-alex_supercon-test-mae": "38ae85e0503c56fafaa68fb68ca0c5b6af48e5f8e1467a6886873b0110da7258",
        "Tc_b-alex_supercon-test-mae": "f48b410418cb4f65eaac58beb4af666417c329561d22408dffecfaccd0959cd6",
        "Tc_beta-alex_supercon-test-mae": "ed76c7b25ebe468d7b8651203df6ba5a7ae760d5bef5f38e2a6c20b7a3d4ac61",
        "Tc_c-alex_supercon-test-mae": "91c3834a086b54e53e065742f10f6678b00edfe2c2b303a7962b1be1a0290ab8",
        "Tc_gamma-alex_supercon-test-mae": "ca671395b755d79220dd1d2efc1a858c5af483bcadf2ed0d7e0f7d6e1276b914",
        "Tc_supercon-dft_3d-test-rmse": "f0bf7696847a1b1fe2cb957ed3303631bcd6574d8d75baefc5097ff63e9e45db",
        "Tc_supercon_a-dft_3d-test-mae": "0a61704e391eecb66115bca03b4c3b10654c1d520b518a0c38f1d246fe168fc8",
        "Tc_supercon_alpha-dft_3d-test-mae": "d4b81ba00c6c41840c76553843c510bc64833101b9d201468ac863d91c1c7227",
        "Tc_supercon_b-dft_3d-test-mae": "ed3eaa79c79f73960eb927027e9e8146b9a1531faa0151c7016ec29635d153df",
        "Tc_supercon_beta-dft_3d-test-mae": "806da798e69ed421e64114780cb128909fbd21130a2f42bc708512509a47fc39",
        "Tc_supercon_c-dft_3d-test-mae": "615c6175d8f3116cb04ea4a0ae9c97186342435eef5a8a6907bd9f19a339dfd3",
        "Tc_supercon_gamma-dft_3d-test-mae": "a1353856e7276ee26b09094154d36520ad2dafc1b25851964186546311fe056b",
        "metadata.json": "854626f1e2643cd9001544093d4d4173ab0f7c1b41b7b67df4b7dd4431c66a9e",
    },
    "flowmm_invatoms": {
        "Tc-alex_supercon-test-rmse": "a11ade5926b5613180cbbec6f2c5493c6ba38afb34b1435263627ab1a273857f",
        "Tc_a-alex_supercon-test-mae": "a5339ebd9074b790275a877e82648ae0ff7fbbc390ac7758e23dcd1fce263353",
        "Tc_alpha-alex_supercon-test-mae": "9b0acdc6917e1acd8fd3de68034515a6db32914c5a73f520cfa484b16c0e7003",
        "Tc_b-alex_supercon-test-mae": "767edd6870500161e2caee82e0486f67f0d1cda572de6d347c3cccf006f1b5cb",
        "Tc_beta-alex_supercon-test-mae": "09e95aea01d8c0f6a3741bf48065b581898843c08817e95ad174ccc3240bc982",
        "Tc_c-alex_supercon-test-mae": "b394f649b7f5a4bb25238593a8c00d14951703603a82bfe689fe46672fb1dddb",
        "Tc_gamma-alex_supercon-test-mae": "9143cd381609f4c806b02ceeed1ff6b7516792bab017ef606c362f5ed86807e3",
        "Tc_supercon-dft_3d-test-rmse": "39dbfb17113dc8db01f4389d7d2a328594fdd6216b2acc58be55786609ffe62f",
        "Tc_supercon_a-dft_3d-test-mae": "d106f2506b6560caa812de23e22d3e20b8f8b9709abecf0781eea119360fbb31",
        "Tc_supercon_alpha-dft_3d-test-mae": "5014dd7eab6a3955682194c9fd849b8525f334ccd33b6a3065c01d0593cb847f",
        "Tc_supercon_b-dft_3d-test-mae": "06ec40340abf5997632b917cc96e28169fed39744a0e6fa3d45d518f71333f33",
        "Tc_supercon_beta-dft_3d-test-mae": "f9bed9ea7d8a09bbc6d2cadd9b0eb8129ac5cf86925f22895c20510a975cc100",
        "Tc_supercon_c-dft_3d-test-mae": "108f4cc68a9d05ae587a4480f5bb1e9520474a689292c1b61b132b3defe93d32",
        "Tc_supercon_gamma-dft_3d-test-mae": "f2b09b36bef1cff2585da134ccb0192cb1a028d02b3bff1023363a6b57e38e7a",
        "metadata.json": "b6bb54e25a2fa31a08348b9c9dabb2bc10600d8b7ce690777f9aa8bd827b9487",
    },
}


def contribution_files(name: str | None = None) -> list[DataFile]:
    """The :class:`DataFile` of every file of one official contribution (all three when ``name`` is None)."""
    names = [name] if name else sorted(CONTRIBUTION_SHA256)
    return [
        DataFile(
            f"{CONTRIBUTIONS_DIR}/{c}/{f}",
            sha,
            f"contributions/{c}/{f}",
            f"{c} (official AtomBench contribution)",
        )
        for c in names
        for f, sha in ((_file_name(k), v) for k, v in sorted(CONTRIBUTION_SHA256[c].items()))
    ]


def _file_name(key: str) -> str:
    return key if key == "metadata.json" else f"AI-AtomGen-{key}.csv.zip"
