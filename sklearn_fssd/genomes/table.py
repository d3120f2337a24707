"""The genome table: which genome file, in which Debian package, with what checksum.

``GENOMES`` is the benchmark's default table (10 in-distribution classes,
then 5 OoD species); :func:`~sklearn_fssd.genomes.load_genome_ood` takes any
sequence of :class:`Genome` rows instead.
"""

from typing import NamedTuple

__all__ = ["Genome"]


class Genome(NamedTuple):
    """One genome file inside a Debian package (a row of the table ``GENOMES``).

    Parameters
    ----------
    id : str
        Short name, e.g. ``"ecoli_K12_MG1655"``.
    species : str
        Species and strain; the class name in the benchmark.
    package : str
        The Debian package that ships the file.
    path : str
        The file's path inside the package, without the leading ``./``.
    sha256 : str
        SHA-256 of the file as shipped (compressed or not).
    length : int
        Bases over all records.
    n_records : int
        Number of FASTA or GenBank records (chromosomes, plasmids, contigs).
    role : {"id", "ood"}
        In-distribution class or held-out OoD species.
    note : str, default=""
        Why the genome is there (its relation to the in-distribution species).

    Examples
    --------
    >>> from sklearn_fssd.genomes.table import GENOMES
    >>> GENOMES[0].species, GENOMES[0].package, GENOMES[0].role
    ('Escherichia coli K-12 MG1655', 'ragout-examples', 'id')
    >>> sorted({g.role for g in GENOMES}), sum(g.role == "id" for g in GENOMES)
    (['id', 'ood'], 10)
    """

    id: str
    species: str
    package: str
    path: str  # inside the package, without the leading "./"
    sha256: str  # of the file as shipped (compressed or not)
    length: int  # bases over all records
    n_records: int
    role: str  # "id" or "ood"
    note: str = ""


#: The benchmark's genomes: 10 in-distribution classes (in class order), then 5 OoD species.
GENOMES = (
    Genome("ecoli_K12_MG1655", "Escherichia coli K-12 MG1655", "ragout-examples",
           "usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz",
           "ae952b2873ef8badc956925a61c5b536d4e40322b4e8b15dde3d8eda7ce3c879", 4639675, 1, "id"),
    Genome("saureus_N315", "Staphylococcus aureus N315", "ragout-examples",
           "usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz",
           "f00af0fea6d59d4aef1cac64be57a5215739b7c23fae7f6bc0d44e1f9805a0e9", 2814816, 1, "id"),
    Genome("vcholerae_N16961", "Vibrio cholerae O1 El Tor N16961", "ragout-examples",
           "usr/share/doc/ragout/examples/V.Cholerae/references/O1_biovar.fasta.gz",
           "ef8ecca73105608a904c9e81973ef3af472096e349a463fbec324411c6566cc9", 4033464, 2, "id",
           "two chromosomes; 37 IUPAC codes"),
    Genome("hpylori_G27", "Helicobacter pylori G27", "ragout-examples",
           "usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz",
           "80dd2ad4125b47fa644350cec0bee7bf3956e379bf3e3e97a25e9c17ba297658", 1652982, 1, "id"),
    Genome("lkirschneri_H1", "Leptospira kirschneri H1", "any2fasta-examples",
           "usr/share/doc/any2fasta/examples/test.gbk.gz",
           "321919e452f88665a597b5c31813b7b99ab0f60ce3706e25eadd2309f9e3d93b", 4594734, 75, "id",
           "draft assembly, 75 contigs (GenBank)"),
    Genome("ssuis_SC84", "Streptococcus suis SC84", "abacas-examples",
           "usr/share/doc/abacas-examples/SS_SC84.dna.gz",
           "db0746cebb41474bd2ae8acd477f184b348eed542b24101298fdae4b98595e60", 2095898, 1, "id"),
    Genome("mtuberculosis_H37Rv", "Mycobacterium tuberculosis H37Rv", "ariba",
           "usr/lib/python3/dist-packages/ariba/tb_data/NC_000962.3.fa.gz",
           "f47c8bc84fd87fc538ce1f04469ff306818c8527b1e35426d820fc455e3a9940", 4411532, 1, "id"),
    Genome("bjaponicum_USDA110", "Bradyrhizobium japonicum USDA 110", "cct-examples",
           "usr/share/doc/cct/examples/sample_projects/sample_project_3/reference_genome/"
           "NC_004463.gbk.gz",
           "3f32bd902bff9b66abc170a6a6293575cab2609339297e0fcc7529722dddc7ad", 9105828, 1, "id",
           "GenBank"),
    Genome("rdenitrificans_OCh114", "Roseobacter denitrificans OCh 114", "cct-examples",
           "usr/share/cct/lib/scripts/get_cds/test_input/R_denitrificans.gbk",
           "6c96fca8e8c66c4b2723ca4a59d47426e009487f2c32edd97fcfc40c75ef787c", 4133097, 1, "id",
           "GenBank"),
    Genome("ctrachomatis_D_UW3", "Chlamydia trachomatis D/UW-3/CX", "r-cran-seqinr",
           "usr/lib/R/site-library/seqinr/sequences/ct.gbk.gz",
           "0a80287df42fb51b41d4d21c733239d4a18c415b540891a641259129b6d0b4c3", 1042519, 1, "id",
           "GenBank"),
    Genome("kpneumoniae_HS11286", "Klebsiella pneumoniae HS11286", "kleborate-examples",
           "usr/share/doc/kleborate/examples/data/Klebs_HS11286.fna.xz",
           "88b7aa6bbe673b650650bd3739870dc923ebe80c69ee9b7962268fc393832e2b", 5682322, 7, "ood",
           "close relative of E. coli (Enterobacteriaceae); chromosome + 6 plasmids"),
    Genome("msmegmatis_mc2_155", "Mycolicibacterium smegmatis mc2 155", "tnseq-transit",
           "usr/lib/python3/dist-packages/pytransit/genomes/mc2_155_tamu.fna",
           "68e9b284bf993dfa015f605e22962c1ef3fc2b06ef2a53015205851688c6b9f5", 6988560, 1, "ood",
           "close relative of M. tuberculosis (Mycobacteriaceae)"),
    Genome("baphidicola_LL01", "Buchnera aphidicola LL01", "minia",
           "usr/share/doc/minia/test/buchnera.fasta.gz",
           "ce2bad59be5020e7b34b308423ce7092e441e3279caf265e41b154255cd6a656", 641799, 1, "ood",
           "same order as E. coli (Enterobacterales), 26 % GC"),
    Genome("mgenitalium_G37", "Mycoplasma genitalium G37", "genometester",
           "usr/share/doc/genometester/test-data/Mg.fa.gz",
           "dec30c8945c86d55dd18d609290f5fbe2f36368d65ca2e7b192244b1825939b5", 580076, 1, "ood",
           "distant (Mollicutes)"),
    Genome("archaea_macetivorans_C2A", "Methanosarcina acetivorans C2A (archaeon)",
           "cct-examples",
           "usr/share/doc/cct/examples/sample_projects/sample_project_2/comparison_genomes/"
           "Methanosarcina_acetivorans.gbk.gz",
           "6a552bc33757c3f80e16372020527f9490f966cf7f91c4fc56e5d3be717a1309", 5751492, 1, "ood",
           "most distant: an archaeon (GenBank)"),
)
