"""A DNA out-of-distribution benchmark built from real bacterial genomes in Debian packages.

The paper's sequence benchmark (Ren et al., 2019: 250 bp fragments of
bacterial genomes, 10 in-distribution classes, later-discovered bacteria as
OoD) is not downloadable without TensorFlow Datasets. This package builds an
analogous one, reproducibly, from complete genomes that Debian ships in
example packages (the table ``GENOMES`` of ``sklearn_fssd.genomes.table``;
provenance in the project's ``shared/data/genomes/MANIFEST.md``):

* **in-distribution**, 10 classes, one genome per species: *E. coli*,
  *S. aureus*, *V. cholerae*, *H. pylori*, *L. kirschneri*, *S. suis*,
  *M. tuberculosis*, *B. japonicum*, *R. denitrificans*, *C. trachomatis*;
* **out-of-distribution**, 5 held-out species: two close relatives of an
  in-distribution species (*K. pneumoniae*, same family as *E. coli*;
  *M. smegmatis*, same family as *M. tuberculosis*), an endosymbiont of the
  same order as *E. coli* with a very different composition (*B. aphidicola*,
  26 % GC), and two distant ones (*M. genitalium*, a mollicute; the archaeon
  *M. acetivorans*).

Each genome is used once: where Debian ships a strain twice (*S. aureus*
N315, *H. pylori* Gambia94/24), or a species in several strains, one genome
is chosen. *M. bovis* BCG is left out: it belongs to the *M. tuberculosis*
complex (over 99.9 % identical), so its fragments would be label noise rather
than OoD.

How fragments are drawn
-----------------------
Each genome's records are concatenated and cut into ``n_blocks`` contiguous
blocks, which a seeded permutation assigns to train (80 %), validation
(10 %) and test (10 %). A fragment is ``fragment_length`` bases from one
block and one record (never across a record boundary), read from either
strand with equal probability (the reverse complement for the minus strand),
and kept if at most ``max_unknown`` of its bases are not A, C, G or T.
Bases are tokens A=0, C=1, G=2, T=3; N and every other IUPAC code is 4
(:data:`sklearn_fssd.models.DNA_TOKENS`). Validation and test fragments
(ID and OoD) that are exact copies of a training fragment (repeats such as
rRNA operons, or genes shared across species) are dropped and counted.

Getting the packages
--------------------
:func:`load_genome_ood` reads the genome files straight out of the ``.deb``
files (no root, no ``dpkg -x``), found in the first of: the ``source``
argument; ``<root>/genomes/debs`` for ``data_home``, each root of
``SKLEARN_FSSD_DATA`` and ``~/sklearn_fssd_data``; the installed packages
under ``/`` (when ``apt-get install``-ed and the image keeps ``/usr/share/doc``).
``source`` may also be a ``dpkg -x`` tree (``<source>/<package>/usr/...``).
With ``download=True`` it runs ``apt-get download`` (Debian and derivatives)
into ``get_data_home(data_home)/genomes/debs``. Every genome file is checked
against its SHA-256, length and record count before use.

The one command::

    python -m sklearn_fssd.genomes --download       # fetch the 10 packages, build, summarise

The package's modules: ``table`` (the genomes and their checksums),
``sequences`` (FASTA and GenBank), ``debs`` (Debian packages), ``fragments``
(sampling, de-duplication) and ``benchmark`` (:func:`load_genome_ood`, the cache).
"""

from .benchmark import load_genome_ood
from .sequences import encode_dna, read_sequences, reverse_complement
from .table import Genome

__all__ = ["Genome", "encode_dna", "load_genome_ood", "read_sequences", "reverse_complement"]
